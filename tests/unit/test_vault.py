"""A client's answers, end to end through intake/vault.py on the real database.

What a client or coach would notice: the return code (typed in any digits) finds the right
person and nobody else; the client's code and the coach's organisation key both open the
same answers; changing an answer before sending keeps one copy, after sending keeps each
version; each answer keeps the form and version it was given under; and an answer that was
tampered with, or moved to another person, question, form or version, is reported as
damaged — it is never shown as if the person had left it blank.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update
from support.journey import Phone, fill

from intake import crypto, staff, vault
from intake.context import key_settings
from intake.db import database, db_session
from intake.models import Answer, Client
from intake.questionnaire import DEFAULT_FORM

ABOUT_YOU = {
    "name": "Лана Коваленко",
    "languages": ["uk", "ar"],
    "pronouns": "I'd rather not say",
}
SAFETY = {"topics_to_avoid": "لا أريد الحديث عن الطريق", "safe_times": ["after 6pm"]}


@pytest.fixture
def vaulted(app, team):
    """An app context with the organisation in place, and a way to read the database afresh."""
    with app.app_context():
        db = db_session()

        def fresh():
            """A new database session, so reads come from the database, not from memory."""
            return database(app).sessions()

        yield SimpleNamespace(
            db=db, keys=key_settings(), org=staff.organisation(db), fresh=fresh, team=team
        )


def new_client(env, code=None):
    digits = crypto.normalise_return_code(code or crypto.generate_return_code())
    assert digits is not None
    client, data_key = vault.create_client(env.db, env.org, digits, env.keys)
    return client, data_key, digits


def tamper(env, answer_id, **values):
    """Change an answer row behind the app's back, as someone with database access could."""
    with env.fresh() as other:
        other.execute(update(Answer).where(Answer.id == answer_id).values(**values))
        other.commit()


def read(env, client_id, key=None, *, code=None, org_key=None):
    with env.fresh() as db:
        client = db.get(Client, client_id)
        if code is not None:
            key = vault.unlock_with_code(client, code, env.keys)
        if org_key is not None:
            key = vault.unlock_with_org_key(client, org_key)
        return vault.read_sections(db, client, key)


def history(env, client_id, key, section_key):
    with env.fresh() as db:
        return vault.section_history(db, db.get(Client, client_id), key, section_key)


# --- finding and unlocking -----------------------------------------------------------------


def test_the_return_code_finds_the_client_and_opens_their_answers(vaulted):
    client, data_key, digits = new_client(vaulted, "4827 1930 5561 2204")
    vault.save_section(vaulted.db, client, data_key, "about_you", ABOUT_YOU)
    vault.save_section(vaulted.db, client, data_key, "safety", SAFETY)
    new_client(vaulted)  # someone else, who must not be found instead
    vaulted.db.commit()

    typed = crypto.normalise_return_code("\u200f٤٨٢٧ ١٩٣٠ ۵۵۶۱ 2204")
    with vaulted.fresh() as db:
        found = vault.find_client(db, typed, vaulted.keys)
        assert found is not None
        assert found.id == client.id
        assert vault.unlock_with_code(found, typed, vaulted.keys) == data_key

    sections = read(vaulted, client.id, code=digits)
    assert {key: section.fields for key, section in sections.items()} == {
        "about_you": ABOUT_YOU,
        "safety": SAFETY,
    }
    assert not any(section.damaged for section in sections.values())


def test_the_org_private_key_opens_the_same_answers_as_the_code(vaulted):
    client, data_key, digits = new_client(vaulted)
    vault.save_section(vaulted.db, client, data_key, "about_you", ABOUT_YOU)
    vaulted.db.commit()

    with vaulted.fresh() as db:
        stored = db.get(Client, client.id)
        assert vault.unlock_with_org_key(stored, vaulted.team.org_private_key) == data_key
    by_coach = read(vaulted, client.id, org_key=vaulted.team.org_private_key)
    by_client = read(vaulted, client.id, code=digits)
    assert by_coach["about_you"].fields == by_client["about_you"].fields == ABOUT_YOU


def test_a_wrong_return_code_finds_nobody_and_opens_nothing(vaulted):
    client, data_key, digits = new_client(vaulted, "4827 1930 5561 2204")
    vault.save_section(vaulted.db, client, data_key, "about_you", ABOUT_YOU)
    vaulted.db.commit()

    with vaulted.fresh() as db:
        for wrong in ("4827193055612205", "2204556119304827", "0000000000000000"):
            assert vault.find_client(db, wrong, vaulted.keys) is None
        stored = db.get(Client, client.id)
        with pytest.raises(crypto.CannotOpen):
            vault.unlock_with_code(stored, "4827193055612205", vaulted.keys)
        with pytest.raises(crypto.CannotOpen):
            vault.unlock_with_org_key(stored, crypto.generate_org_keypair().private_key)
        assert vault.find_client(db, digits, vaulted.keys).id == client.id


def test_the_same_code_is_not_found_under_another_pepper(vaulted):
    client, _data_key, digits = new_client(vaulted)
    vaulted.db.commit()
    other = vault.KeySettings(
        pepper=bytes(len(vaulted.keys.pepper)), kdf=vaulted.keys.kdf, lookup=vaulted.keys.lookup
    )
    with vaulted.fresh() as db:
        assert vault.find_client(db, digits, other) is None
        assert vault.find_client(db, digits, vaulted.keys).id == client.id


def test_one_clients_key_does_not_open_another_clients_answers(vaulted):
    first, first_key, _ = new_client(vaulted)
    second, second_key, _ = new_client(vaulted)
    vault.save_section(vaulted.db, first, first_key, "about_you", ABOUT_YOU)
    vault.save_section(vaulted.db, second, second_key, "about_you", {"name": "Someone else"})
    vaulted.db.commit()

    assert first_key != second_key
    crossed = read(vaulted, second.id, first_key)
    assert crossed["about_you"].damaged
    assert crossed["about_you"].fields is None
    assert read(vaulted, second.id, second_key)["about_you"].fields == {"name": "Someone else"}


# --- versions ------------------------------------------------------------------------------


def count_versions(env, client_id, section_key):
    with env.fresh() as db:
        return db.scalar(
            select(func.count())
            .select_from(Answer)
            .where(Answer.client_id == client_id, Answer.section_key == section_key)
        )


def test_saving_before_sending_replaces_the_latest_version(vaulted):
    client, data_key, _ = new_client(vaulted)
    vault.save_section(vaulted.db, client, data_key, "about_you", {"name": "Lana"})
    vaulted.db.commit()
    vault.save_section(vaulted.db, client, data_key, "about_you", {"name": "Lana K."})
    vaulted.db.commit()

    assert count_versions(vaulted, client.id, "about_you") == 1
    versions = history(vaulted, client.id, data_key, "about_you")
    assert [(v.version, v.fields) for v in versions] == [(1, {"name": "Lana K."})]
    assert read(vaulted, client.id, data_key)["about_you"].fields == {"name": "Lana K."}


def test_saving_with_history_keeps_every_version_in_order(vaulted):
    client, data_key, digits = new_client(vaulted)
    vault.save_section(vaulted.db, client, data_key, "goals", {"goal": "Find work"})
    vaulted.db.commit()
    vault.save_section(
        vaulted.db, client, data_key, "goals", {"goal": "Find work I enjoy"}, keep_history=True
    )
    vaulted.db.commit()

    assert count_versions(vaulted, client.id, "goals") == 2
    versions = history(vaulted, client.id, data_key, "goals")
    assert [(v.version, v.fields) for v in versions] == [
        (1, {"goal": "Find work"}),
        (2, {"goal": "Find work I enjoy"}),
    ]
    assert versions[0].updated_at <= versions[1].updated_at
    latest = read(vaulted, client.id, code=digits)["goals"]
    assert (latest.version, latest.fields) == (2, {"goal": "Find work I enjoy"})

    vault.save_section(vaulted.db, client, data_key, "goals", {"goal": "Study"}, keep_history=True)
    vaulted.db.commit()
    assert [v.fields["goal"] for v in history(vaulted, client.id, data_key, "goals")] == [
        "Find work",
        "Find work I enjoy",
        "Study",
    ]


def test_one_section_opens_alone_at_its_latest_version(vaulted):
    client, data_key, _digits = new_client(vaulted)
    vault.save_section(vaulted.db, client, data_key, "goals", {"goal": "Find work"})
    vault.save_section(vaulted.db, client, data_key, "safety", SAFETY)
    vaulted.db.commit()
    vault.save_section(vaulted.db, client, data_key, "goals", {"goal": "Study"}, keep_history=True)
    vaulted.db.commit()

    with vaulted.fresh() as db:
        person = db.get(Client, client.id)
        goals = vault.read_section(db, person, data_key, "goals")
        never_saved = vault.read_section(db, person, data_key, "about_you")
        wrong_key = vault.read_section(db, person, bytes(32), "safety")
    assert goals is not None
    assert (goals.version, goals.fields) == (2, {"goal": "Study"})
    assert never_saved is None
    assert wrong_key is not None
    assert wrong_key.fields is None, "damage is not a blank page"


# --- damage is reported, never mistaken for a blank answer ---------------------------------


def saved(env, fields=None, section_key="about_you"):
    client, data_key, digits = new_client(env)
    answer = vault.save_section(env.db, client, data_key, section_key, fields or ABOUT_YOU)
    vault.save_section(env.db, client, data_key, "safety", SAFETY)
    env.db.commit()
    return client, data_key, digits, answer


def assert_damaged(section):
    assert section.damaged is True
    assert section.fields is None


@pytest.mark.parametrize("position", [0, 1, 5, 12, 30, -17, -1])
def test_an_answer_changed_in_the_database_is_reported_as_damaged(vaulted, position):
    client, data_key, digits, answer = saved(vaulted)
    changed = bytearray(answer.ciphertext)
    changed[position] ^= 0x01
    tamper(vaulted, answer.id, ciphertext=bytes(changed))

    sections = read(vaulted, client.id, code=digits)
    assert_damaged(sections["about_you"])
    assert sections["safety"].fields == SAFETY  # the rest of the record still opens
    assert_damaged(history(vaulted, client.id, data_key, "about_you")[0])


@pytest.mark.parametrize(
    "replacement",
    [
        b"",
        b"{}",
        b"\x01\x01" + bytes(8),
        pytest.param("empty answer under another key", id="valid-envelope-of-{}"),
    ],
)
def test_an_answer_replaced_in_the_database_is_not_shown_as_blank(vaulted, replacement):
    client, _data_key, digits, answer = saved(vaulted)
    if isinstance(replacement, str):
        # Someone writes a well-formed envelope of an empty answer under a key they chose.
        replacement = crypto.encrypt(
            crypto.new_data_key(), b"{}", vault.answer_aad(client.id, "about_you", 1)
        )
    tamper(vaulted, answer.id, ciphertext=replacement)
    section = read(vaulted, client.id, code=digits)["about_you"]
    assert_damaged(section)
    assert section.fields != {}


def test_an_answer_copied_to_another_client_does_not_open(vaulted):
    _first, _first_key, _, first_answer = saved(vaulted)
    second, _second_key, second_digits, second_answer = saved(vaulted, {"name": "B"})
    tamper(vaulted, second_answer.id, ciphertext=first_answer.ciphertext)

    sections = read(vaulted, second.id, code=second_digits)
    assert_damaged(sections["about_you"])
    assert sections["safety"].fields == SAFETY


def test_an_answer_moved_to_another_client_with_the_right_key_still_does_not_open(vaulted):
    """Even a reader holding the first client's key cannot open it once it is filed elsewhere."""
    _first, first_key, _, first_answer = saved(vaulted)
    second, _second_key, _, _ = saved(vaulted, {"name": "B"})
    tamper(vaulted, first_answer.id, client_id=second.id, section_key="moved")

    with vaulted.fresh() as db:
        moved = vault.section_history(db, db.get(Client, second.id), first_key, "moved")
    assert len(moved) == 1
    assert_damaged(moved[0])


def test_an_answer_copied_to_another_section_does_not_open(vaulted):
    client, data_key, digits, answer = saved(vaulted)
    safety = vaulted.db.scalar(
        select(Answer).where(Answer.client_id == client.id, Answer.section_key == "safety")
    )
    tamper(vaulted, safety.id, ciphertext=answer.ciphertext)

    sections = read(vaulted, client.id, code=digits)
    assert sections["about_you"].fields == ABOUT_YOU
    assert_damaged(sections["safety"])

    tamper(vaulted, answer.id, section_key="goals")
    assert_damaged(history(vaulted, client.id, data_key, "goals")[0])


def test_an_answer_relabelled_with_another_schema_version_does_not_open(vaulted):
    client, _data_key, digits, answer = saved(vaulted)
    tamper(vaulted, answer.id, schema_version=2)
    assert_damaged(read(vaulted, client.id, code=digits)["about_you"])


# --- the form an answer was given under ----------------------------------------------------


def saved_under_a_form(env, form_id="groundwork", form_version=1):
    client, data_key, digits = new_client(env)
    answer = vault.save_section(
        env.db, client, data_key, "about_you", ABOUT_YOU, form_id=form_id, form_version=form_version
    )
    env.db.commit()
    return client, digits, answer


def test_an_answer_keeps_the_form_and_version_it_was_given_under(vaulted):
    client, digits, answer = saved_under_a_form(vaulted, "youth", 3)
    with vaulted.fresh() as db:
        row = db.get(Answer, answer.id)
        assert (row.form_id, row.form_version) == ("youth", 3)
    assert read(vaulted, client.id, code=digits)["about_you"].fields == ABOUT_YOU


@pytest.mark.parametrize(
    "moved",
    [{"form_id": "youth"}, {"form_version": 2}, {"form_id": None, "form_version": None}],
    ids=["another-form", "another-version", "as-if-saved-before-forms"],
)
def test_an_answer_moved_to_another_form_or_version_does_not_open(vaulted, moved):
    client, digits, answer = saved_under_a_form(vaulted)
    tamper(vaulted, answer.id, **moved)
    assert_damaged(read(vaulted, client.id, code=digits)["about_you"])


def test_an_answer_saved_before_forms_were_data_still_opens(vaulted):
    """Rows written before the form was kept with them have neither, and open as before."""
    client, _data_key, digits, answer = saved(vaulted)
    with vaulted.fresh() as db:
        row = db.get(Answer, answer.id)
        assert (row.form_id, row.form_version) == (None, None)
    assert read(vaulted, client.id, code=digits)["about_you"].fields == ABOUT_YOU
    tamper(vaulted, answer.id, form_id="groundwork", form_version=1)
    assert_damaged(read(vaulted, client.id, code=digits)["about_you"])


def test_the_client_journey_saves_each_page_under_the_live_form(app, team):
    phone = Phone(app)
    phone.get("/agree")
    phone.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
    phone.get("/your-code")
    phone.post("/your-code", {"saved": "y"})
    phone.get("/page/1")
    phone.post("/page/1", {**fill(DEFAULT_FORM.sections[0]), "action": "continue"})
    with database(app).sessions() as db:
        (row,) = db.scalars(select(Answer))
        assert (row.form_id, row.form_version) == (DEFAULT_FORM.id, DEFAULT_FORM.version)


# --- one Argon2id derivation per newcomer and per return ------------------------------------


@pytest.fixture
def derivations(monkeypatch):
    """Counts every Argon2id derivation, the costly step of a newcomer's key set-up."""
    made = []
    real = crypto.derive_key

    def counted(secret, salt, params):
        made.append(params)
        return real(secret, salt, params)

    monkeypatch.setattr(crypto, "derive_key", counted)
    return made


def test_a_newcomer_and_a_return_each_cost_one_derivation(vaulted, derivations):
    client, data_key, digits = new_client(vaulted)
    vaulted.db.commit()
    assert len(derivations) == 1
    stored = {client.lookup_hash, client.dek_by_code}
    older = crypto.lookup_hash(digits, vaulted.keys.pepper, vaulted.keys.lookup)
    assert older not in stored, "never the value records were found by before"
    derivations.clear()
    with vaulted.fresh() as db:
        opened = vault.open_with_code(db, digits, vaulted.keys)
        assert opened is not None
        assert opened == (opened[0], data_key)
        assert opened[0].id == client.id
    assert len(derivations) == 1


def older_client(env, digits):
    """A person given their code before one derivation served both: found by the derivation
    itself, their data key under its own salted derivation."""
    client, data_key, _ = new_client(env, digits)
    client.lookup_hash = crypto.lookup_hash(digits, env.keys.pepper, env.keys.lookup)
    client.dek_by_code = crypto.wrap_with_secret(
        digits, data_key, vault._dek_by_code_aad(client.id), env.keys.kdf, crypto.key_id(data_key)
    )
    env.db.commit()
    return client, data_key


def test_a_person_given_their_code_before_is_found_and_moved_over_at_their_next_visit(
    vaulted, derivations
):
    digits = crypto.normalise_return_code("4827 1930 5561 2204")
    client, data_key = older_client(vaulted, digits)
    vault.save_section(vaulted.db, client, data_key, "about_you", ABOUT_YOU)
    vaulted.db.commit()
    legacy = client.lookup_hash
    derivations.clear()
    with vaulted.fresh() as db:
        opened = vault.open_with_code(db, digits, vaulted.keys)
        assert opened is not None
        assert opened[1] == data_key
        db.commit()
    assert len(derivations) == 3, "this once: both lookups, then their own salted derivation"
    with vaulted.fresh() as db:
        moved = db.get(Client, client.id)
        assert moved.lookup_hash != legacy, "the derivation itself is no longer kept"
        assert crypto.is_code_wrapped(moved.dek_by_code)
    derivations.clear()
    assert read(vaulted, client.id, code=digits)["about_you"].fields == ABOUT_YOU
    with vaulted.fresh() as db:
        assert vault.open_with_code(db, digits, vaulted.keys)[1] == data_key
    assert len(derivations) == 2, "one to read the answers above, one to come back"
    derivations.clear()
    with vaulted.fresh() as db:
        assert vault.open_with_code(db, "4827193055612205", vaulted.keys) is None
    assert len(derivations) == 1, "nobody holds an older code any more: a miss costs one"
