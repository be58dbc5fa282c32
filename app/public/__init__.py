"""The signers' side: letters, the sign form, confirmation and the public list."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.public import link_views, open_data_views, share_views, views  # noqa: E402, F401  (registers the routes)
