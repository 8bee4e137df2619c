"""Blueprint: the client journey, and the quick exit that every client page offers."""

from flask import Blueprint

bp = Blueprint("client", __name__)

from intake.client import choices, heard, together, views, words  # noqa: E402, F401  (registers the routes)
