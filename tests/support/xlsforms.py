"""An XLSForm written the way Kobo users write one: three languages, groups, a choice filter,
a `relevant` Groundwork can follow and one it cannot, a required question, and rows of types
Groundwork has not (tests/test_xlsform_import.py says what becomes of each)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

__all__ = ["kobo_form"]

LANGUAGES = ("English (en)", "French (fr)", "Arabic (ar)")
SURVEY_HEADER = [
    "type",
    "name",
    *[f"label::{language}" for language in LANGUAGES],
    *[f"hint::{language}" for language in LANGUAGES],
    "required",
    "relevant",
    "choice_filter",
    "appearance",
    "calculation",
]
# type, name, labels (en, fr, ar), hints (en, fr, ar), then the other columns by name
SURVEY = [
    ("begin_group", "about", ("About you", "Vous", "عنك"), None, {}),
    (
        "text",
        "name",
        ("What should we call you?", "Comment vous appeler ?", "ما الاسم الذي نناديك به؟"),
        ("So we greet you well.", "Pour bien vous saluer.", "لنحييك كما تحب."),
        {"required": "yes"},
    ),
    (
        "select_one yesno",
        "interpreter",
        ("Do you want an interpreter?", "Voulez-vous un interprète ?", "هل تريد مترجماً؟"),
        ("So you can talk easily.", "Pour parler facilement.", "لتتحدث بسهولة."),
        {},
    ),
    (
        "note",
        "skip_note",
        ("You can skip anything.", "Vous pouvez tout passer.", "يمكنك تخطي أي سؤال."),
        None,
        {},
    ),
    ("end_group", "", None, None, {}),
    ("begin_group", "talking", ("Talking", "Parler", "الحديث"), None, {}),
    (
        "text",
        "interpreter_language",
        ("Which language?", "Quelle langue ?", "أي لغة؟"),
        ("So we find the right person.", "Pour trouver la bonne personne.", "لنجد الشخص المناسب."),
        {"relevant": "${interpreter} = 'yes'"},
    ),
    (
        "text",
        "worries",
        ("Anything that worries you?", "Quelque chose vous inquiète ?", "هل يقلقك شيء؟"),
        ("So your coach can help.", "Pour que votre coach aide.", "ليساعدك مرشدك."),
        {"relevant": "${interpreter} = 'yes' and ${country} = 'fr'", "appearance": "multiline"},
    ),
    ("end_group", "", None, None, {}),
    ("begin_group", "place", ("Where you are", "Où vous êtes", "أين أنت"), None, {}),
    (
        "select_one country",
        "country",
        ("Which country?", "Quel pays ?", "أي بلد؟"),
        ("To find a coach near you.", "Pour un coach près de vous.", "لنجد مرشداً قريباً."),
        {},
    ),
    (
        "select_one city",
        "city",
        ("Which city?", "Quelle ville ?", "أي مدينة؟"),
        ("To find a coach near you.", "Pour un coach près de vous.", "لنجد مرشداً قريباً."),
        {"choice_filter": "country=${country}"},
    ),
    ("geopoint", "gps", ("Where are you?", "Où êtes-vous ?", "أين أنت؟"), None, {}),
    ("calculate", "score", None, None, {"calculation": "1 + 1"}),
    ("end_group", "", None, None, {}),
]
CHOICES = [
    ("yesno", "yes", ("Yes", "Oui", "نعم"), ""),
    ("yesno", "no", ("No", "Non", "لا"), ""),
    ("country", "fr", ("France", "France", "فرنسا"), ""),
    ("country", "other", ("Another country", "Un autre pays", "بلد آخر"), ""),
    ("city", "paris", ("Paris", "Paris", "باريس"), "fr"),
    ("city", "lyon", ("Lyon", "Lyon", "ليون"), "fr"),
]


def kobo_form(folder: Path, media: dict[str, dict[str, str]] | None = None) -> Path:
    """The XLSForm, as an .xlsx workbook written the way Kobo's own template is; `media` adds
    media columns, by question name: {"name": {"media::audio::Arabic (ar)": "name-ar.mp3"}}."""
    workbook = Workbook()
    survey = workbook.active
    assert survey is not None
    survey.title = "survey"
    media = media or {}
    media_columns = sorted({column for row in media.values() for column in row})
    header = [*SURVEY_HEADER, *media_columns]
    survey.append(header)
    for kind, name, labels, hints, others in SURVEY:
        others = {**others, **media.get(name, {})}
        survey.append(
            [
                kind,
                name,
                *(labels or ("", "", "")),
                *(hints or ("", "", "")),
                *[others.get(column, "") for column in header[8:]],
            ]
        )
    choices = workbook.create_sheet("choices")
    choices.append(
        ["list_name", "name", *[f"label::{language}" for language in LANGUAGES], "country"]
    )
    for list_name, name, labels, country in CHOICES:
        choices.append([list_name, name, *labels, country])
    settings = workbook.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["Welcome", "welcome_form", "202612", "English (en)"])
    path = folder / "welcome.xlsx"
    workbook.save(path)
    return path
