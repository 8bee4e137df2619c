"""Forms of the partner pages: making a referral, naming an API token, adding a webhook
address."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField

from intake import outbound, referrals
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


class WebhookForm(GroundworkForm):
    url = StringField(
        _l("The address of your system's receiver"),
        validators=[FitsIn(outbound.MAX_URL), readable],
        filters=[without_nul],
    )


# What the partner reads when an address is refused (intake/outbound.py).
WEBHOOK_REFUSED = {
    outbound.Reason.TOO_LONG: _l("The address is too long."),
    outbound.Reason.NOT_AN_ADDRESS: _l("This is not a web address we can use."),
    outbound.Reason.NOT_HTTPS: _l("The address must start with https://."),
    outbound.Reason.NO_HOST: _l(
        "The address needs a host name, like https://cases.example.org/hooks."
    ),
    outbound.Reason.CREDENTIALS: _l(
        "Please leave out the user name and password. Every message is signed instead."
    ),
    outbound.Reason.FRAGMENT: _l("Please leave out the part after #."),
    outbound.Reason.SPACES: _l("The address has a space in it."),
    outbound.Reason.UNKNOWN_HOST: _l("We could not find this host name."),
    outbound.Reason.PRIVATE: _l(
        "This address leads inside a private network. "
        "Please give an address anyone on the internet can reach."
    ),
    outbound.Reason.ALREADY_THERE: _l("This address is already on your list."),
    outbound.Reason.TOO_MANY: _l(
        "You have the most addresses you can have. Please remove one first."
    ),
}
