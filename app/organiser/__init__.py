"""The organisers' console at /admin: accounts, letters, moderation, import and export."""

from flask import Blueprint

bp = Blueprint("organiser", __name__, url_prefix="/admin")

from app.organiser import (  # noqa: E402, F401  (registers the routes)
    auth,
    data_views,
    launch_views,
    moderation_views,
    news_views,
    organisation_views,
    translation_views,
    views,
)
