"""Forms of the client journey: the questions (built from the questionnaire), the return and
referral codes, consent choices, check-ins and answers to an agreement. Validation checks format
only: nothing is ever required (DESIGN.md §2)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from intake import agreements, reviews
from intake.form_base import GroundworkForm
from intake.labels import REVIEW_CHOICE
from intake.questionnaire import Kind, Question, Section
from intake.validators import FitsIn, OneOf, readable, without_nul
from intake.vault import AnswerValue

YES, NO = "yes", "no"


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _options(pairs: tuple[tuple[str, Any], ...] | list[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _field_for(question: Question) -> Field:
    keys = [key for key, _label in question.choices]
    if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
        field_class = StringField if question.kind == Kind.SHORT_TEXT else TextAreaField
        return field_class(
            question.label,
            description=question.why,
            validators=[FitsIn(question.limit), readable],
            filters=[without_nul],
        )
    choice_field = RadioField if question.kind == Kind.ONE_CHOICE else CheckboxesField
    return choice_field(
        question.label,
        description=question.why,
        choices=_options(question.choices),
        validate_choice=False,
        validators=[OneOf(keys)],
    )


CONSENT_CHOICE = "consent_choice"


@cache
def form_class(section: Section) -> type[GroundworkForm]:
    """One form class per section, made once. A page that asks a consent gets a yes/no for
    it, whose words come from the consent text (see the page template)."""
    fields: dict[str, Field] = {q.key: _field_for(q) for q in section.asked}
    if section.consent_purpose:
        fields[CONSENT_CHOICE] = RadioField(
            choices=_options([(YES, _l("Yes")), (NO, _l("No"))]),
            validate_choice=False,
            validators=[OneOf([YES, NO])],
        )
    return type(f"{section.key.title()}Form", (GroundworkForm,), fields)


def answers_from(form: GroundworkForm, section: Section) -> dict[str, AnswerValue]:
    """What to store: every question that was answered, nothing for the skipped ones."""
    answers: dict[str, AnswerValue] = {}
    for question in section.asked:
        value = form[question.key].data
        if isinstance(value, str):
            value = value.strip()
        if value:
            answers[question.key] = value
    return answers


class SavedCodeForm(GroundworkForm):
    saved = BooleanField(_l("I have written down my code"))


class ConsentForm(GroundworkForm):
    store_answers = RadioField(
        _l("Can we keep your answers?"),
        choices=_options([(YES, _l("Yes, keep my answers")), (NO, _l("No, do not keep anything"))]),
        validate_choice=False,
        validators=[OneOf([YES, NO])],
    )
    share_with_coach = RadioField(
        _l("Can a coach read your answers?"),
        choices=_options([(YES, _l("Yes, a coach can read them")), (NO, _l("No, not yet"))]),
        validate_choice=False,
        validators=[OneOf([YES, NO])],
    )
    # Asked only of someone who arrived by a partner's referral.
    status_to_referrer = RadioField(
        choices=_options([(YES, _l("Yes, they can know how it is going")), (NO, _l("No"))]),
        validate_choice=False,
        validators=[OneOf([YES, NO])],
    )


class ReturnCodeForm(GroundworkForm):
    code = StringField(_l("Your return code"), validators=[FitsIn(100)], filters=[without_nul])


class SendForm(GroundworkForm):
    """Sending; `share` carries a yes given on the check page itself."""

    share = BooleanField(_l("A coach can read my answers"))


class ChoiceForm(GroundworkForm):
    """One press: the purpose and the new decision travel as the button's values."""


class ResponseForm(GroundworkForm):
    note = TextAreaField(
        _l("What would you like to change? (if you want to say)"),
        validators=[FitsIn(agreements.TEXT_LIMIT), readable],
    )


class SignForm(GroundworkForm):
    """Signing an agreement version: the name the person chose, typed, or a tick for anyone
    who cannot type easily. Either one is a signature."""

    signed_name = StringField(
        _l("Type the name you chose"),
        description=_l("This is your signature. Any name you use is fine."),
        validators=[FitsIn(agreements.NAME_LIMIT), readable],
        filters=[without_nul, lambda text: text.strip() if isinstance(text, str) else text],
    )
    agree = BooleanField(_l("I agree to this"))

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.signed_name.data and not self.agree.data:
            self.signed_name.errors = [
                _l("To sign, type your name or tick “I agree to this”. Then press “Sign”.")
            ]
            return False
        return True


def _review_choices(question: str, label: object, why: object) -> RadioField:
    return RadioField(
        label,
        description=why,
        choices=_options(list(REVIEW_CHOICE[question].items())),
        validate_choice=False,
        validators=[OneOf(list(reviews.CHOICES[question]))],
    )


class ReviewForm(GroundworkForm):
    """ "Are we on track?": every question may be skipped."""

    working = TextAreaField(
        _l("What is working for you in coaching?"),
        description=_l("So you and your coach keep doing what helps."),
        validators=[FitsIn(reviews.TEXT_LIMIT), readable],
        filters=[without_nul],
    )
    not_working = TextAreaField(
        _l("What is not working?"),
        description=_l("So your coach can change it. It is fine to say."),
        validators=[FitsIn(reviews.TEXT_LIMIT), readable],
        filters=[without_nul],
    )
    goals = _review_choices(
        "goals",
        _l("Do your goals still fit?"),
        _l("Goals can change. Your coaching plan can change with them."),
    )
    safe = _review_choices(
        "safe",
        _l("How safe do your sessions feel?"),
        _l("So your coach can make them feel safer. Only you and your coach read this."),
    )
    agreement = _review_choices(
        "agreement",
        _l("Should you and your coach change how you work together?"),
        _l("Your agreement can change at any time. You can ask for it here."),
    )


class StrengthForm(GroundworkForm):
    text = TextAreaField(
        _l("Something you managed since you last met your coach"),
        validators=[
            DataRequired(_l("Write what you managed, then press “Add it”.")),
            FitsIn(agreements.TEXT_LIMIT),
            readable,
        ],
        filters=[without_nul, lambda text: text.strip() if isinstance(text, str) else text],
    )


class CheckInForm(GroundworkForm):
    goal = TextAreaField(
        _l("What would you like from today's session?"),
        description=_l("So you and your coach can use the time well."),
        validators=[FitsIn(agreements.TEXT_LIMIT), readable],
    )
    off_limits = TextAreaField(
        _l("Is there anything you do not want to talk about today?"),
        description=_l("Your coach will not bring it up today."),
        validators=[FitsIn(agreements.TEXT_LIMIT), readable],
    )
    arriving = TextAreaField(
        _l("How are you arriving today?"),
        description=_l(
            "For example tired, worried or hopeful. It helps your coach go at your pace."
        ),
        validators=[FitsIn(agreements.TEXT_LIMIT), readable],
    )


class ReferralCodeForm(GroundworkForm):
    code = StringField(_l("Your referral code"), validators=[FitsIn(40)])
