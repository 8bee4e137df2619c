"""Blueprint: staff sign-in, two-step check, sign-out and joining by invitation."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/staff")

from intake.auth import views  # noqa: E402, F401  (registers the routes)
