"""The partner API (docs/openapi.json), as a partner's case-management system, a careless
integrator and an attacker with a token see it.

A token is made on the partner pages, shown once and stored as its SHA-256 only; it works until
it is revoked, reads only its own organisation's referrals, is throttled on its own, and follows
the same consent rules as the pages: a status only while the person agrees, never an answer,
never the note. Bad input is refused in JSON. The OpenAPI document the app serves is the one in
docs/, and schemathesis checks it against the running app with a real token.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from support.app import with_settings
from support.database import assert_not_stored, database_bytes
from support.journey import Phone, marker
from support.pages import csrf
from support.referrals import (
    arrive,
    begin_referred,
    client_of,
    expire,
    my_choice,
    other_partner_browser,
    refer,
    referral_row,
    statuses,
)
from support.staff import StaffBrowser
from support.team import Team
from werkzeug.test import TestResponse

from intake import i18n
from intake.db import db_session
from intake.models import ApiToken

OPENAPI = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
API = "/api/v1"
TOKEN_SHOWN = re.compile(r"<bdi>(gw_[A-Za-z0-9_-]+)</bdi>")
ROOMY = "100000 per minute"  # schemathesis sends a few hundred requests with one token


# --- helpers ----------------------------------------------------------------------------------


def make_token(browser: FlaskClient, label: str = "Case system") -> tuple[str, TestResponse]:
    """Make a token on the partner page; returns it as shown (once) and the page."""
    response = browser.post(
        "/partner/api-tokens",
        data={"label": label, "csrf_token": csrf(browser, "/partner/api-tokens")},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    shown = TOKEN_SHOWN.findall(response.get_data(as_text=True))
    assert len(shown) == 1
    return shown[0], response


class Api:
    """A partner's system: its own HTTP client (no cookies) and a bearer token."""

    def __init__(self, app: Flask, token: str | None) -> None:
        self.client = app.test_client(use_cookies=False)
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str) -> TestResponse:
        return self.client.get(API + path, headers=self.headers())

    def post(self, path: str, body: object = None, **kwargs: object) -> TestResponse:
        if body is not None:
            kwargs["json"] = body
        return self.client.post(API + path, headers=self.headers(), **kwargs)  # type: ignore[arg-type]


def json_error(response: TestResponse, status: int) -> str:
    """A refusal in JSON, as the document says: {"error": "<code>"} and nothing else."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)
    return str(body["error"])


def status_of(api: Api, reference: str) -> str:
    response = api.get(f"/referrals/{reference}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["status"])


def revoke(browser: FlaskClient, token_id: int) -> TestResponse:
    return browser.post(
        f"/partner/api-tokens/{token_id}/revoke",
        data={"csrf_token": csrf(browser, "/partner/api-tokens")},
    )


def token_rows(app: Flask) -> list[ApiToken]:
    with app.app_context():
        db = db_session()
        rows = list(db.scalars(select(ApiToken).order_by(ApiToken.id)))
        for row in rows:
            db.expunge(row)
        return rows


# --- tokens -----------------------------------------------------------------------------------


def test_a_token_is_shown_once_stored_as_its_digest_and_works(
    app: Flask, team: Team, database_kind: str, instance_path: Path, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    token, page = make_token(partner, "Our case system")
    assert "shown only once" in page.get_data(as_text=True)

    again = partner.get("/partner/api-tokens")
    assert again.status_code == 200
    assert token not in again.get_data(as_text=True)
    assert "Our case system" in again.get_data(as_text=True)

    (row,) = token_rows(app)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert_not_stored(database_bytes(app, database_kind, instance_path), [token])

    api = Api(app, token)
    listed = api.get("/referrals")
    assert listed.status_code == 200
    assert listed.get_json() == {"referrals": [], "page": 1, "pages": 1}
    assert "Set-Cookie" not in listed.headers, "an API call starts no session"
    assert listed.headers["Cache-Control"] == "no-store"
    assert token_rows(app)[0].last_used_at is not None


def test_no_token_a_wrong_one_or_a_revoked_one_is_refused(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    token, _page = make_token(partner)
    made = refer(partner)
    api = Api(app, token)
    assert status_of(api, made.reference) == "invited"

    for headers in (
        {},
        {"Authorization": token},
        {"Authorization": f"Basic {token}"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": "Bearer "},
    ):
        refused = api.client.get(f"{API}/referrals/{made.reference}", headers=headers)
        assert json_error(refused, 401) == "unauthorized"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert made.reference not in refused.get_data(as_text=True)

    # Another organisation cannot revoke it.
    (row,) = token_rows(app)
    theirs = other_partner_browser(auth)
    assert revoke(theirs, row.id).status_code == 404
    assert status_of(api, made.reference) == "invited"

    response = revoke(partner, row.id)
    assert response.status_code == 302
    assert "Revoked" in partner.get("/partner/api-tokens").get_data(as_text=True)
    for call in (
        lambda: api.get("/referrals"),
        lambda: api.get(f"/referrals/{made.reference}"),
        lambda: api.post("/referrals", {"locale": "en"}),
        lambda: api.post(f"/referrals/{made.reference}/withdraw"),
    ):
        assert json_error(call(), 401) == "unauthorized"
    assert statuses(partner) == {made.reference: "Not used yet"}, "a revoked token did something"
    assert revoke(partner, row.id).status_code == 404, "revoked twice"


def test_a_token_reads_and_withdraws_only_its_own_organisations_referrals(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    ours_browser, theirs_browser = auth.sign_in("partner"), other_partner_browser(auth)
    ours, theirs = Api(app, make_token(ours_browser)[0]), Api(app, make_token(theirs_browser)[0])
    mine = refer(ours_browser)
    made = theirs.post("/referrals", {"locale": "en"})
    assert made.status_code == 201
    other = made.get_json()["reference"]

    assert [r["reference"] for r in ours.get("/referrals").get_json()["referrals"]] == [
        mine.reference
    ]
    assert [r["reference"] for r in theirs.get("/referrals").get_json()["referrals"]] == [other]

    read = theirs.get(f"/referrals/{mine.reference}")
    never_made = theirs.get("/referrals/R-ZZZZZZ")
    assert json_error(read, 404) == "not_found"
    assert read.get_data() == never_made.get_data(), "a 404 that tells theirs from none"
    assert json_error(theirs.post(f"/referrals/{mine.reference}/withdraw"), 404) == "not_found"
    assert status_of(ours, mine.reference) == "invited"
    assert referral_row(app, mine.reference).withdrawn_at is None
    assert mine.reference not in theirs_browser.get("/partner/").get_data(as_text=True)


# --- making referrals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        ({"locale": "de"}, None, "bad_locale"),
        ({"locale": ["en"]}, None, "bad_locale"),
        ({"note": "x" * 2001}, None, "bad_note"),
        ({"nickname": "x" * 81}, None, "bad_nickname"),
        ({"nickname": 42}, None, "bad_nickname"),
        ({"note": "a\x00b"}, None, "bad_note"),
        ({"locale": "en", "client_name": "Amal"}, None, "bad_body"),
        ({"locale": "en", "status": "closed"}, None, "bad_body"),
        (["en"], None, "bad_body"),
        ("locale=en", "application/x-www-form-urlencoded", "bad_body"),
        ("not json at all", "application/json", "bad_body"),
        ("", "application/json", "bad_body"),
        ('{"nickname": "a\\udfff"}', "application/json", "bad_nickname"),
    ],
    ids=[
        "unknown-locale",
        "locale-not-text",
        "note-too-long",
        "nickname-too-long",
        "nickname-not-text",
        "nul-in-note",
        "extra-field",
        "status-given",
        "not-an-object",
        "a-form",
        "broken-json",
        "empty",
        "half-a-character",
    ],
)
def test_making_a_referral_refuses_what_it_cannot_take(
    app: Flask, team: Team, body: object, content_type: str | None, error: str, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    api = Api(app, make_token(partner)[0])
    if content_type is None:
        response = api.post("/referrals", body)
    else:
        response = api.post("/referrals", data=body, content_type=content_type)
    assert json_error(response, 400) == error
    assert api.get("/referrals").get_json()["referrals"] == []


def test_a_body_too_large_is_refused_in_json(app: Flask, team: Team, auth: StaffBrowser) -> None:
    api = Api(app, make_token(auth.sign_in("partner"))[0])
    huge = json.dumps({"note": "x" * int(app.config["MAX_CONTENT_LENGTH"])})
    response = api.post("/referrals", data=huge, content_type="application/json")
    assert json_error(response, 413) == "too_large"


def test_unknown_addresses_and_methods_answer_in_json(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    api = Api(app, make_token(auth.sign_in("partner"))[0])
    assert json_error(api.get("/nothing-here"), 404) == "not_found"
    deleted = api.client.delete(f"{API}/referrals", headers=api.headers())
    assert json_error(deleted, 405) == "method_not_allowed"
    assert json_error(api.get("/referrals?page=0"), 400) == "bad_page"
    assert json_error(api.get("/referrals?page=%C2%B2"), 400) == "bad_page"  # a superscript 2
    far = api.get(f"/referrals?page={10**30}")
    assert far.status_code == 200
    assert far.get_json()["referrals"] == []


def test_a_referral_made_by_the_api_works_and_its_note_is_sealed(
    app: Flask, team: Team, database_kind: str, instance_path: Path, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    api = Api(app, make_token(partner)[0])
    nickname, note = f"Nick {marker()}", f"Note {marker()}"
    response = api.post("/referrals", {"locale": "uk", "nickname": nickname, "note": note})
    assert response.status_code == 201
    made = response.get_json()
    assert set(made) == {"reference", "created_at", "expires_at", "status", "link", "code"}
    assert made["status"] == "invited"
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", made["code"])
    body = response.get_data(as_text=True)
    assert nickname not in body
    assert note not in body

    # Shown once: the list and the referral itself carry neither the link nor the code.
    token = made["link"].rsplit("/r/", 1)[1]
    for later in (api.get("/referrals"), api.get(f"/referrals/{made['reference']}")):
        text = later.get_data(as_text=True)
        for secret in (token, made["code"], nickname, note):
            assert secret not in text
    assert_not_stored(
        database_bytes(app, database_kind, instance_path), [token, made["code"], nickname, note]
    )

    # The person opens the link and reads in the language the partner's system asked for.
    phone = Phone(app)
    assert '<html lang="uk" dir="ltr">' in arrive(phone, token).get_data(as_text=True)
    assert made["reference"] in statuses(partner)


# --- throttled per token ----------------------------------------------------------------------


@with_settings(API_LIMIT_PER_TOKEN="3 per hour")
def test_the_api_is_throttled_per_token(app: Flask, team: Team, auth: StaffBrowser) -> None:
    partner = auth.sign_in("partner")
    first = Api(app, make_token(partner, "first")[0])
    second = Api(app, make_token(partner, "second")[0])
    for _ in range(3):
        assert first.get("/referrals").status_code == 200
    assert json_error(first.get("/referrals"), 429) == "too_many_requests"
    assert json_error(first.post("/referrals", {"locale": "en"}), 429) == "too_many_requests"
    assert statuses(partner) == {}, "a throttled request made a referral"
    # The other token of the same organisation is not held back.
    assert second.get("/referrals").status_code == 200


# --- the same consent rules as the pages ------------------------------------------------------


def test_the_api_shows_a_status_only_while_the_person_agrees(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    api = Api(app, make_token(partner)[0])
    made = api.post("/referrals", {"locale": "en"}).get_json()
    reference, token = made["reference"], made["link"].rsplit("/r/", 1)[1]
    assert status_of(api, reference) == "invited"

    phone = Phone(app)
    arrive(phone, token)
    assert status_of(api, reference) == "invited", "opening the link is not using it"
    begin_referred(phone, "no")
    assert status_of(api, reference) == "not_shared"
    listed = api.get("/referrals").get_json()["referrals"]
    assert [(r["reference"], r["status"]) for r in listed] == [(reference, "not_shared")]
    withdrawn = api.post(f"/referrals/{reference}/withdraw")
    assert json_error(withdrawn, 409) == "already_used_or_withdrawn"

    my_choice(phone, "status_to_referrer", "granted")
    assert status_of(api, reference) == "started"
    phone.get("/check")
    phone.post("/send", {})
    assert status_of(api, reference) == "sent"
    my_choice(phone, "status_to_referrer", "withdrawn")
    assert status_of(api, reference) == "not_shared"
    assert client_of(app, reference) is not None


def test_the_api_withdraws_an_unused_referral_and_shows_expired_ones(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    api = Api(app, make_token(partner)[0])
    stopped = api.post("/referrals", {}).get_json()
    old = api.post("/referrals", {"locale": "ar"}).get_json()
    expire(app, old["reference"])

    withdrawn = api.post(f"/referrals/{stopped['reference']}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["status"] == "withdrawn"
    again = api.post(f"/referrals/{stopped['reference']}/withdraw")
    assert json_error(again, 409) == "already_used_or_withdrawn"
    assert status_of(api, old["reference"]) == "expired"

    for made in (stopped, old):
        phone = Phone(app)
        phone.get("/" + made["link"].split("/", 3)[3], status=410)
    assert statuses(partner) == {
        stopped["reference"]: "Withdrawn by you",
        old["reference"]: "Not used in time",
    }


# --- the OpenAPI document against the running app --------------------------------------------


def test_the_app_serves_the_openapi_document_as_written(app: Flask) -> None:
    """docs/openapi.json, with the forms this organisation publishes as the values of `form`."""
    served = app.test_client().get(f"{API}/openapi.json")  # no token needed to read it
    assert served.status_code == 200
    assert served.mimetype == "application/json"
    written = json.loads(OPENAPI.read_bytes())
    body = written["paths"]["/referrals"]["post"]["requestBody"]["content"]["application/json"]
    assert "enum" not in body["schema"]["properties"]["form"]
    body["schema"]["properties"]["form"]["enum"] = ["groundwork"]
    assert served.get_json() == written


def test_the_document_names_every_language_a_referral_can_ask_for(app: Flask) -> None:
    written = json.loads(OPENAPI.read_bytes())
    body = written["paths"]["/referrals"]["post"]["requestBody"]["content"]["application/json"]
    with app.app_context():
        assert body["schema"]["properties"]["locale"]["enum"] == i18n.shipped_locales()


def conformance(
    app: Flask, schema: schemathesis.BaseSchema, references: list[str]
) -> dict[str, set[int]]:
    """Run every operation of `schema` against the app, positive and negative examples, with
    the token the schema's config carries; each response must pass schemathesis' checks (no
    server error, documented status code, content type and body). A failed check raises.
    Returns the status codes seen per operation."""
    seen: dict[str, set[int]] = defaultdict(set)
    for result in schema.get_all_operations():
        operation = result.ok()
        strategies = [
            operation.as_strategy(generation_mode=mode) for mode in schemathesis.GenerationMode
        ]
        if "{reference}" in operation.path:
            strategies += [
                operation.as_strategy(path_parameters={"reference": reference})
                for reference in references
            ]

        @hypothesis_settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(app=app)
            seen[case.operation.label].add(response.status_code)

        check()
    return seen


def api_schema_config(token: str) -> schemathesis.Config:
    # Every generated request carries the token. The WSGI transport does not undo compression,
    # so ask for none: Flask-Compress would otherwise gzip the JSON.
    return schemathesis.Config.from_dict(
        {"headers": {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}}
    )


def references_to_try(auth: StaffBrowser, partner: FlaskClient) -> list[str]:
    """An unused referral of ours, a used one, and another organisation's."""
    unused, used = refer(partner), refer(partner)
    phone = Phone(auth.app)
    arrive(phone, used.token)
    begin_referred(phone, "yes")
    theirs = refer(other_partner_browser(auth))
    return [unused.reference, used.reference, theirs.reference]


@with_settings(API_LIMIT_PER_TOKEN=ROOMY)
def test_the_api_does_what_its_openapi_document_says(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    token, _page = make_token(partner)
    references = references_to_try(auth, partner)
    schema = schemathesis.openapi.from_wsgi(
        f"{API}/openapi.json", app, config=api_schema_config(token)
    )
    seen = conformance(app, schema, references)

    # The run reached every operation as a partner with a working token, not only refusals.
    assert set(seen) == {
        "GET /referrals",
        "POST /referrals",
        "GET /referrals/{reference}",
        "POST /referrals/{reference}/withdraw",
    }
    for label, codes in seen.items():
        assert any(200 <= code < 300 for code in codes), (label, codes)
        assert 401 not in codes, (label, codes)
    assert 404 in seen["GET /referrals/{reference}"]
    assert 409 in seen["POST /referrals/{reference}/withdraw"]


@with_settings(API_LIMIT_PER_TOKEN=ROOMY)
def test_the_document_check_catches_a_document_that_is_wrong(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    """The same check, given a document that says something the app does not do, fails: the
    check above is not passing by accident."""
    partner = auth.sign_in("partner")
    token, _page = make_token(partner)
    references = references_to_try(auth, partner)
    wrong = copy.deepcopy(json.loads(OPENAPI.read_bytes()))
    # Say referrals are never "invited" (a new referral is).
    for name in ("Referral", "CreatedReferral"):
        status = wrong["components"]["schemas"][name]["properties"]["status"]
        status["enum"].remove("invited")
    schema = schemathesis.openapi.from_dict(wrong, config=api_schema_config(token))
    schema.app = app  # as `from_wsgi` does: requests go to the app itself
    with pytest.raises(schemathesis.errors.FailureGroup) as failed:
        conformance(app, schema, references)
    assert "Response violates schema" in str(failed.value)
