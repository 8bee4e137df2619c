"""Blueprint: partner organisations' staff and their referrals."""

from flask import Blueprint

bp = Blueprint("partner", __name__, url_prefix="/partner")

from intake.partner import views  # noqa: E402, F401  (registers the routes)
