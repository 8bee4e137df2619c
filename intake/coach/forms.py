"""Forms of the staff workspace."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from intake.form_base import GroundworkForm


class InviteForm(GroundworkForm):
    role = RadioField(
        _l("They will be"),
        choices=[
            SelectChoice("coach", _l("A coach")),
            SelectChoice("admin", _l("An admin (a coach who can also manage the team)")),
            SelectChoice("partner", _l("Partner staff (they refer people to us)")),
        ],
        default="coach",
    )
    display_name = StringField(
        _l("Their name, as the team and clients will see it"),
        validators=[
            DataRequired(_l("Write their name, as the team and clients will see it.")),
            Length(max=120, message=_l("Use at most 120 characters for their name.")),
        ],
    )
    partner_org = StringField(
        _l("For partner staff: their organisation"), validators=[Length(max=200)]
    )


class PasswordChangeForm(GroundworkForm):
    current = PasswordField(_l("Your current password"), validators=[Length(max=1000)])
    new = PasswordField(_l("Your new password"), validators=[Length(max=1000)])
    new_again = PasswordField(_l("Type the new password again"), validators=[Length(max=1000)])
