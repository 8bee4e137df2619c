"""The forms page: an admin uploads an XLSForm or a definition, reads what the check found,
looks at every page in every language at a phone's width, and publishes. Only admins reach
it, and a draft is seen only by the admin who uploaded it."""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from support.pages import csrf
from support.staff import StaffBrowser
from support.team import Team
from support.xlsforms import kobo_form

from intake.db import database
from intake.form_definition import FORMS_FOLDER
from intake.models import Role, StaffUser


def upload(admin: FlaskClient, name: str, data: bytes) -> object:
    return admin.post(
        "/forms",
        data={"csrf_token": csrf(admin, "/forms"), "definition": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_an_admin_uploads_looks_at_every_page_and_publishes_an_xlsform(
    app: Flask, team: Team, auth: StaffBrowser, tmp_path: Path
) -> None:
    admin = auth.sign_in("admin")
    sent = upload(admin, "welcome.xlsx", kobo_form(tmp_path).read_bytes())
    assert sent.status_code == 302
    draft_path = sent.headers["Location"]
    assert re.fullmatch(r"/forms/drafts/\d+", draft_path)
    draft = admin.get(draft_path).get_data(as_text=True)
    assert "welcome_form, version 202612: 3 pages." in draft
    assert "survey row 14 (gps): geopoint is not mapped" in draft
    assert "survey row 3 (name): required in the XLSForm" in draft
    for code in ("en", "fr", "ar"):
        assert f'href="{draft_path}/preview/{code}"' in draft

    preview = admin.get(f"{draft_path}/preview/ar")
    assert preview.status_code == 200
    markup = preview.get_data(as_text=True)
    assert markup.count('<section class="phone"') == 3, "every page, one after the other"
    assert markup.count('<div lang="ar" dir="rtl">') == 3
    assert "هل تريد مترجماً؟" in markup
    assert "لتتحدث بسهولة." in markup
    assert "“أي لغة؟” is asked only after the answer “yes” on page 1." in markup
    assert admin.get(f"{draft_path}/preview/uk").status_code == 404, "not one of its languages"

    published = admin.post(f"{draft_path}/publish", data={"csrf_token": csrf(admin, draft_path)})
    assert published.headers["Location"] == "/forms"
    listing = admin.get("/forms").get_data(as_text=True)
    assert re.search(r"<bdi>welcome_form</bdi></td><td>202612</td>\s*<td><strong>Live", listing), (
        listing
    )
    assert admin.get(draft_path).status_code == 404, "a published draft is gone"


def test_a_form_that_cannot_be_published_is_refused_naming_each_mistake(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    broken = (
        'format = 1\nid = "youth"\nversion = 1\nlanguages = ["en", "fr"]\n\n'
        '[[pages]]\nkey = "about"\nheading = { fr = "Vous" }\n'
        '[[pages.questions]]\nkey = "age"\nkind = "short_text"\nrequired = true\n'
        'label = { en = "Age?" }\nwhy = { en = "To know." }\n'
    )
    refused = upload(admin, "youth.toml", broken.encode())
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "page 1 (about): heading is missing in en" in page
    assert "page 1 (about), question age: nothing is required in Groundwork" in page
    assert upload(admin, "youth.docx", b"PK").status_code == 400
    assert upload(admin, "youth.toml", b"\xff\xfe not text").status_code == 400


def test_publishing_an_old_version_again_is_refused_on_the_draft_page(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    sent = upload(admin, "groundwork.toml", (FORMS_FOLDER / "groundwork.toml").read_bytes())
    draft = admin.get(sent.headers["Location"]).get_data(as_text=True)
    assert "version 1 of &#39;groundwork&#39; is already published" in draft
    assert "Publish version 1" not in draft


def test_only_the_admin_who_uploaded_a_draft_can_open_it(
    app: Flask, team: Team, auth: StaffBrowser, tmp_path: Path
) -> None:
    admin = auth.sign_in("admin")
    draft_path = upload(admin, "welcome.xlsx", kobo_form(tmp_path).read_bytes()).headers["Location"]
    coach = auth.sign_in("coach")
    assert coach.get("/forms").status_code == 404
    assert coach.get(draft_path).status_code == 404
    assert coach.get(f"{draft_path}/preview/en").status_code == 404
    with database(app).sessions() as db:  # a second admin
        db.execute(update(StaffUser).where(StaffUser.username == "coach2").values(role=Role.ADMIN))
        db.commit()
    other_admin = auth.sign_in("coach2")
    assert other_admin.get("/forms").status_code == 200
    assert other_admin.get(draft_path).status_code == 404
    refused = other_admin.post(
        f"{draft_path}/publish", data={"csrf_token": csrf(other_admin, "/forms")}
    )
    assert refused.status_code == 404
