"""Forms of the staff workspace: the team, passwords, what a coach records on a client's
record (consent by voice, agreements, status), assigning, and publishing consent words."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from intake import agreements, consent, reviews
from intake.form_base import GroundworkForm
from intake.labels import DECISION, PURPOSE, REVIEW_CHOICE
from intake.models import ClientStatus
from intake.validators import FitsIn, OneOf, readable, without_nul

# What a coach may write down for someone who told them by voice (storing answers is always
# the person's own act, on their own device).
VOICE_PURPOSES = (
    consent.Purpose.SHARE_WITH_COACH,
    consent.Purpose.CONTACT,
    consent.Purpose.STATUS_TO_REFERRER,
    consent.Purpose.ANONYMOUS_STATISTICS,
)


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


class NoticeEmailForm(GroundworkForm):
    email = StringField(
        _l("Your email address for notices"),
        validators=[
            Length(max=254),
            Regexp(
                r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
                message=_l("Write an email address like name@example.org, or leave it empty."),
            ),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


NOTICE_WHEN = [
    SelectChoice("at_once", _l("At once")),
    SelectChoice("daily", _l("Once a day, in the morning, with the others")),
    SelectChoice("never", _l("Never")),
]
NOTICE_QUESTIONS = {
    "intake_waiting": _l("When someone sends their answers and has no coach yet (admins)"),
    "assigned": _l("When someone is given to you as their coach"),
    "check_in": _l("When someone you coach says how they are before a session"),
    "change_asked": _l("When someone you coach asks for a change to an agreement"),
    "review_sent": _l("When someone you coach sends an “are we on track?” review"),
    "review_due": _l("When an “are we on track?” review with someone you coach comes due"),
    "voice_waiting": _l(
        "When consent you recorded by voice still waits for the person to confirm it"
    ),
}


def notice_form(kinds: tuple[str, ...]) -> type[NoticeEmailForm]:
    """The address, and how each kind of notice comes."""
    fields = {
        kind: RadioField(
            NOTICE_QUESTIONS[kind],
            choices=NOTICE_WHEN,
            validate_choice=False,
            validators=[OneOf([choice.value for choice in NOTICE_WHEN])],
        )
        for kind in kinds
    }
    return type("NoticeForm", (NoticeEmailForm,), fields)


class VoiceConsentForm(GroundworkForm):
    purpose = SelectField(
        _l("What they agreed to, or not"),
        choices=[SelectChoice(p.value, PURPOSE[p]) for p in VOICE_PURPOSES],
    )
    decision = RadioField(
        _l("Their answer"),
        choices=[
            SelectChoice(consent.Decision.GRANTED.value, DECISION["granted"]),
            SelectChoice(consent.Decision.DECLINED.value, DECISION["declined"]),
            SelectChoice(consent.Decision.WITHDRAWN.value, DECISION["withdrawn"]),
        ],
    )
    reason = TextAreaField(
        _l("Why you are recording it for them (they will see this)"),
        validators=[InputRequired(), Length(max=1000)],
    )


class PlanForm(GroundworkForm):
    goals = TextAreaField(
        _l("The goals you wrote together, one on each line"),
        validators=[Length(max=agreements.TEXT_LIMIT * 5)],
    )


class StrengthForm(GroundworkForm):
    text = TextAreaField(
        _l("Something they managed"),
        validators=[InputRequired(), Length(max=agreements.TEXT_LIMIT)],
    )


def _review_choices(question: str, label: object) -> RadioField:
    keys = reviews.COACH_CHOICES[question]
    return RadioField(
        label,
        choices=[SelectChoice(key, REVIEW_CHOICE[question][key]) for key in keys],
        validate_choice=False,
        validators=[OneOf(list(keys))],
    )


class ReviewViewForm(GroundworkForm):
    """The coach's view of an "are we on track?" review. The person reads it."""

    view = TextAreaField(
        _l("Your view: what is working, and what is not"),
        validators=[Length(max=reviews.TEXT_LIMIT)],
    )
    goals = _review_choices("goals", _l("Do their goals still fit?"))
    agreement = _review_choices("agreement", _l("How you work together"))


class AgreedForm(GroundworkForm):
    agreed = TextAreaField(
        _l("What you agreed for this session"),
        validators=[InputRequired(), Length(max=agreements.TEXT_LIMIT)],
    )


class StatusForm(GroundworkForm):
    status = RadioField(
        choices=[
            SelectChoice(ClientStatus.ACTIVE.value, _l("In coaching")),
            SelectChoice(ClientStatus.CLOSED.value, _l("Closed")),
        ]
    )


class PublishForm(GroundworkForm):
    purpose = SelectField(
        _l("Which consent"),
        choices=[SelectChoice(p.value, PURPOSE[p]) for p in consent.Purpose],
    )
    locale = SelectField(_l("Language"))
    body = TextAreaField(
        _l("The new words: the question on the first line, then a blank line, then the rest"),
        validators=[InputRequired(), Length(max=5000)],
    )


@cache
def own_words_form(keys: tuple[str, ...]) -> type[GroundworkForm]:
    """A coach's own words: one box under each part of the coach's side."""
    fields = {
        key: TextAreaField(
            _l("Your own words (if you want)"),
            validators=[FitsIn(agreements.TEXT_LIMIT), readable],
            filters=[without_nul],
        )
        for key in keys
    }
    return type("OwnWordsForm", (GroundworkForm,), fields)


class FormUploadForm(GroundworkForm):
    definition = FileField(
        _l("The form's file"),
        validators=[
            FileRequired(_l("Choose the file of the form.")),
            FileAllowed(
                ["toml", "xlsx", "xls"], _l("Send a form definition (.toml) or an XLSForm.")
            ),
        ],
    )


class AssignForm(GroundworkForm):
    coach = SelectField(validate_choice=False)
