"""Forms of the partner pages: making a referral, and naming an API token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField

from intake import referrals
from intake.form_base import GroundworkForm
from intake.validators import FitsIn, readable, without_nul


class ReferralForm(GroundworkForm):
    locale = SelectField(_l("The language the person reads best"))
    # Checked in the view: a form unknown here (or none sent) is the organisation's default.
    form = SelectField(_l("The questions they are asked"), validate_choice=False)
    nickname = StringField(
        _l("A first name or nickname (if you want)"),
        description=_l("Sealed for the coaching team as soon as you press the button."),
        validators=[FitsIn(referrals.NICKNAME_LIMIT), readable],
        filters=[without_nul],
    )
    note = TextAreaField(
        _l("A note for the coach (if you want)"),
        description=_l(
            "Sealed for the coaching team as soon as you press the button. "
            "You will not be able to read it again."
        ),
        validators=[FitsIn(referrals.NOTE_LIMIT), readable],
        filters=[without_nul],
    )


class TokenForm(GroundworkForm):
    label = StringField(_l("What the token is for"), validators=[FitsIn(80)])
