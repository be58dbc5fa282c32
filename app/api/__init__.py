"""The public JSON API: letters and their public signatories, never an email address."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from app.api import views  # noqa: E402, F401  (registers the routes)
