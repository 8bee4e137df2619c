"""Blueprint: the JSON API for partners' own case-management systems (docs/openapi.json)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from intake.api import views  # noqa: E402, F401  (registers the routes)
