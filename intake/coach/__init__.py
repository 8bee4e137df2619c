"""Blueprint: the coach and admin workspace."""

from flask import Blueprint

bp = Blueprint("coach", __name__)

from intake.coach import account, actions, admin, form_pages, views  # noqa: E402, F401  (registers the routes)
