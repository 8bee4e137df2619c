"""The questions of the client journey: the intake, then the safety and boundaries agreement.

Each section is one page. Every question is optional, says why we ask it, and every set of
choices includes "I'd rather not say". The safety and boundaries pages follow PROMISES
(Purpose, Relationship, Outcomes, Margins, In case of, Safety, Expectations, Strategy) and
come after a short note that they touch harder things.

Section and field keys are stored (inside the encrypted answers and as `Answer.section_key`):
never rename one without a migration of the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

SHORT_TEXT_LIMIT = 200
LONG_TEXT_LIMIT = 10_000  # room for a long story; 100 KB gets a kind "shorter" message
RATHER_NOT_SAY = "rather_not_say"


class Kind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    ONE_CHOICE = "one_choice"
    MANY_CHOICES = "many_choices"


class Part(StrEnum):
    INTAKE = "intake"
    AGREEMENT = "agreement"  # safety and boundaries (PROMISES)


# eq=False: a question or section is itself, compared and hashed by identity. Comparing the
# fields would translate every label (they are lazy) each time a section is a cache key.
@dataclass(frozen=True, eq=False)
class Question:
    key: str
    label: LazyString
    why: LazyString  # the one-line "why we ask"
    kind: Kind
    choices: tuple[tuple[str, LazyString], ...] = ()

    @property
    def limit(self) -> int:
        return SHORT_TEXT_LIMIT if self.kind == Kind.SHORT_TEXT else LONG_TEXT_LIMIT


@dataclass(frozen=True, eq=False)
class Section:
    key: str
    part: Part
    heading: LazyString
    intro: LazyString
    questions: tuple[Question, ...] = field(default_factory=tuple)
    schema_version: int = 1
    consent_purpose: str | None = None  # a consent asked on this page, kept in the ledger

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)


def _choices(*pairs: tuple[str, LazyString]) -> tuple[tuple[str, LazyString], ...]:
    # Translators: offered among every set of choices; choosing it is always fine.
    return (*pairs, (RATHER_NOT_SAY, _l("I'd rather not say")))


def _short(key: str, label: LazyString, why: LazyString) -> Question:
    return Question(key, label, why, Kind.SHORT_TEXT)


def _long(key: str, label: LazyString, why: LazyString) -> Question:
    return Question(key, label, why, Kind.LONG_TEXT)


def _one(key: str, label: LazyString, why: LazyString, *pairs: tuple[str, LazyString]) -> Question:
    return Question(key, label, why, Kind.ONE_CHOICE, _choices(*pairs))


def _many(key: str, label: LazyString, why: LazyString, *pairs: tuple[str, LazyString]) -> Question:
    return Question(key, label, why, Kind.MANY_CHOICES, _choices(*pairs))


YES_NO_NOT_SURE = (("yes", _l("Yes")), ("no", _l("No")), ("not_sure", _l("I'm not sure")))

SECTIONS: tuple[Section, ...] = (
    Section(
        "name",
        Part.INTAKE,
        _l("What to call you"),
        _l("Your coach will use this name. It does not have to be your legal name."),
        (
            _short(
                "name",
                _l("What would you like us to call you?"),
                _l("So your coach greets you the way you like."),
            ),
            _one(
                "pronouns",
                _l("Which words should we use for you?"),
                _l("So we talk about you in the way that feels right."),
                ("she", _l("she, her")),
                ("he", _l("he, him")),
                ("they", _l("they, them")),
                ("other", _l("Other words (you can write them below)")),
            ),
            _short(
                "pronouns_other",
                _l("Other words we should use (if you want)"),
                _l("So we get it right if none of the choices fit."),
            ),
        ),
    ),
    Section(
        "languages",
        Part.INTAKE,
        _l("Your languages"),
        _l("We want you to be able to talk in the language that is easiest for you."),
        (
            _short(
                "languages",
                _l("Which languages do you speak?"),
                _l("So we can find a coach or interpreter who speaks with you."),
            ),
            _one(
                "interpreter",
                _l("Would you like an interpreter?"),
                _l("So we can book one before your first session."),
                *YES_NO_NOT_SURE,
            ),
            _short(
                "interpreter_language",
                _l("If yes, in which language?"),
                _l("So we book the right interpreter."),
            ),
        ),
    ),
    Section(
        "contact",
        Part.INTAKE,
        _l("Contacting you safely"),
        _l("We only contact you in the ways you choose here. Nobody else is contacted."),
        (
            _many(
                "channels",
                _l("How can we contact you safely?"),
                _l("So we only use a way that is safe for you. Choose as many as you like."),
                ("phone_call", _l("Phone call")),
                ("text_message", _l("Text message")),
                ("messaging_app", _l("A messaging app, such as WhatsApp or Signal")),
                ("email", _l("Email")),
                ("through_referrer", _l("Through the organisation that sent me here")),
            ),
            _short(
                "details",
                _l("Your phone number, email, or your name in a messaging app"),
                _l("So we can reach you in the way you chose."),
            ),
            _short(
                "safe_times",
                _l("When is it safe to contact you?"),
                _l("So we never call at a time that is bad or unsafe for you."),
            ),
            _one(
                "leave_message",
                _l("Can we leave a message if you do not answer?"),
                _l("Some people share a phone. We will not leave one unless you say yes."),
                ("yes", _l("Yes")),
                ("no", _l("No")),
            ),
        ),
        consent_purpose="contact",
    ),
    Section(
        "reasons",
        Part.INTAKE,
        _l("What brings you here"),
        _l("Say as much or as little as you like."),
        (
            _long(
                "reasons",
                _l("What brings you to coaching?"),
                _l("So your coach understands what matters to you."),
            ),
        ),
    ),
    Section(
        "strengths",
        Part.INTAKE,
        _l("Your strengths"),
        _l("Coaching starts from what you already do well."),
        (
            _long(
                "strengths",
                _l("What are your strengths, in your own words?"),
                _l("So your coach can build on them with you."),
            ),
            _long(
                "proud_of",
                _l("What have you done that you are proud of?"),
                _l("Big or small. It helps your coach see what you can do."),
            ),
        ),
    ),
    Section(
        "support",
        Part.INTAKE,
        _l("People who support you"),
        _l("You do not need to give names. A few words are enough."),
        (
            _long(
                "support",
                _l("Who supports you?"),
                _l("So your coach knows who is on your side, such as friends or family."),
            ),
        ),
    ),
    Section(
        "purpose",
        Part.AGREEMENT,
        _l("Purpose"),
        _l("These pages help you and your coach agree how to work together."),
        (
            _long(
                "purpose",
                _l("What would you like coaching to help you with?"),
                _l("So you and your coach aim for the same thing."),
            ),
        ),
    ),
    Section(
        "relationship",
        Part.AGREEMENT,
        _l("How we work together"),
        _l("You can change these later. Just tell your coach."),
        (
            _one(
                "pace",
                _l("What pace feels right for you?"),
                _l("So your coach does not go too fast or too slow."),
                ("slow", _l("Slow, with time to think")),
                ("steady", _l("Steady")),
                ("quick", _l("Quick")),
                ("not_sure", _l("I'm not sure yet")),
            ),
            _long(
                "coach_preferences",
                _l("Is there anything you would like in a coach?"),
                _l("For example, a woman or a man, or someone who speaks your language."),
            ),
            _one(
                "interpreter_in_sessions",
                _l("Would you like an interpreter in your sessions?"),
                _l("So we can plan for one."),
                *YES_NO_NOT_SURE,
            ),
        ),
    ),
    Section(
        "outcomes",
        Part.AGREEMENT,
        _l("Outcomes"),
        _l("Think about a time after coaching, when things have gone well."),
        (
            _long(
                "outcomes",
                _l("What would be different if coaching goes well?"),
                _l("So you and your coach can notice when things get better."),
            ),
        ),
    ),
    Section(
        "margins",
        Part.AGREEMENT,
        _l("Things to avoid"),
        _l("This helps your coach get ready before you meet."),
        (
            _long(
                "avoid_topics",
                _l("Is there anything you would rather we did not talk about?"),
                _l("So your coach does not bring it up. You can skip this."),
            ),
            _long(
                "bad_times_places",
                _l("Are there times or places that do not work for you?"),
                _l("So we only plan sessions when and where you feel OK."),
            ),
        ),
    ),
    Section(
        "in_case",
        Part.AGREEMENT,
        _l("If a session gets hard"),
        _l("Sometimes a session brings up strong feelings. That is OK."),
        (
            _long(
                "what_helps",
                _l("What helps you if you feel upset?"),
                _l("So your coach knows how to help you feel calmer."),
            ),
            _long(
                "coach_should",
                _l("What would you like your coach to do then?"),
                _l("For example, take a break, change the subject, or stop."),
            ),
            _short(
                "emergency_contact",
                _l("If you want, someone we can contact if you feel unwell during a session"),
                _l("Only if you want this. Give a name and a phone number."),
            ),
        ),
    ),
    Section(
        "safety",
        Part.AGREEMENT,
        _l("Your safety"),
        _l("This helps us keep you safe."),
        (
            _long(
                "must_not_know",
                _l("Is there anyone who must not know you are coming here?"),
                _l("So we never tell them or contact them by mistake."),
            ),
            _one(
                "messages_safe",
                _l("Is it safe for you to get messages from us?"),
                _l("So we do not send a message that could put you at risk."),
                ("yes", _l("Yes")),
                ("no", _l("No")),
                ("sometimes", _l("Sometimes")),
            ),
        ),
    ),
    Section(
        "expectations",
        Part.AGREEMENT,
        _l("What we can expect"),
        _l("A good agreement works both ways."),
        (
            _long(
                "hope_from_coach",
                _l("What do you hope for from your coach?"),
                _l("So your coach knows what you need from them."),
            ),
            _long(
                "coach_can_expect",
                _l("What can your coach expect from you?"),
                _l("For example, telling them if you cannot come."),
            ),
        ),
    ),
    Section(
        "strategy",
        Part.AGREEMENT,
        _l("Checking it is going well"),
        _l("You and your coach will check together how coaching is going."),
        (
            _many(
                "check_ins",
                _l("How would you like to check that coaching is going well?"),
                _l("So you always have a moment to say what works and what does not."),
                ("start_of_session", _l("A short question at the start of each session")),
                ("end_of_session", _l("A short question at the end of each session")),
                ("every_few_weeks", _l("A longer talk every few weeks")),
            ),
            _long(
                "check_ins_other",
                _l("Anything else about how we check?"),
                _l("So we can do it in the way that suits you."),
            ),
        ),
    ),
)

SECTIONS_BY_KEY = {section.key: section for section in SECTIONS}
FIRST_AGREEMENT_INDEX = next(i for i, s in enumerate(SECTIONS) if s.part == Part.AGREEMENT)


def page_number(section_key: str) -> int:
    """1-based position of a section, as shown in "Page 3 of 14" and in its address."""
    return next(i for i, s in enumerate(SECTIONS, start=1) if s.key == section_key)


def section_at(number: int) -> Section | None:
    return SECTIONS[number - 1] if 1 <= number <= len(SECTIONS) else None
