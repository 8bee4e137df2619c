"""A stolen database plus the server's configuration and secrets reveals no answer (DESIGN.md §5).

The scene: several clients have written answers full of unique marker strings (some in
Cyrillic and Arabic script), and agreed with their coach a relationship agreement (with the
coach's side and the coach's own words), a plan, sessions, strengths, signatures (a typed name)
and an "are we on track?" review with the coach's view, all full of markers too; and a coach
has signed in through the real pages, so the database holds a live staff session whose
payload carries the organisation private key.

The attacker then takes everything at rest: the database (on SQLite the file and its -wal and
-shm files, byte for byte; on PostgreSQL every column of every row of every table), every file
of the instance folder (groundwork.cfg holds SECRET_KEY and LOOKUP_PEPPER) and every file of
the config folder. They have no session cookie, no password and no recovery phrase.

(a) No marker is in those bytes, as UTF-8 or UTF-16, nor in any hex or base64 run in them.
(b) No 32-byte window of those bytes (nor of any hex or base64 run decoded, nor of the
    hex-decoded secrets) opens an answer as a data key, or a client's data key as the
    organisation private key; no 96-byte window opens one as the organisation's post-quantum
    hybrid private key (ML-KEM-768 + X25519, version 2 envelopes); no run of 16 digits in them
    opens a client's data key as a return code.

Control tests show the search is not blind: the same search finds a key, a code or a marker
as soon as one is placed in the bytes, and it catches an app that stores answers in plaintext
or leaves its session payload unencrypted.
"""

from __future__ import annotations

import base64
import json
import random
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from support.team import PASSWORDS

from intake import agreements, crypto, reviews, sessions, staff, vault
from intake.context import form_library, key_settings
from intake.db import database, db_session
from intake.models import (
    Agreement,
    Answer,
    CheckIn,
    Client,
    ConsentEvent,
    Organisation,
    PartnerOrg,
    Review,
    SessionRecord,
    StaffUser,
    Strength,
)
from intake.questionnaire import DEFAULT_FORM_ID

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
WINDOW = crypto.KEY_SIZE
SECTIONS = ("about_you", "safety", "boundaries", "goals")
CYRILLIC = "абвгдежзийклмноп"
ARABIC = "ابتثجحخدذرزسشصضط"

HEX_RUN = re.compile(rb"[0-9a-fA-F]{64,}")
BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{43,}")
DIGIT_RUN = re.compile(rb"(?:[0-9][ \-]?){16,}")
CONFIG_SECRET = re.compile(r'^(SECRET_KEY|LOOKUP_PEPPER)\s*=\s*"([0-9a-fA-F]+)"', re.MULTILINE)


def ascii_marker() -> str:
    return f"m{uuid.uuid4().hex}"


def script_marker(alphabet: str) -> str:
    """A unique marker written in a non-Latin script (one letter per hex digit of a uuid)."""
    return "".join(alphabet[int(digit, 16)] for digit in uuid.uuid4().hex)


# --- the scene -----------------------------------------------------------------------------


@dataclass
class Written:
    client_id: str
    data_key: bytes
    code: str  # the return code as shown to the client, "4827 1930 5561 2204"


@dataclass
class Scene:
    markers: list[str] = field(default_factory=list)  # every marker ever written
    latest: list[str] = field(default_factory=list)  # the markers in the latest versions
    clients: list[Written] = field(default_factory=list)
    plaintext_marker: str = ""  # stored on purpose in a plaintext column, to prove we read it

    def marker(self, alphabet: str | None = None) -> str:
        value = script_marker(alphabet) if alphabet else ascii_marker()
        self.markers.append(value)
        return value


def write_answers(app, scene: Scene, count: int = 3) -> None:
    """Clients write answers through vault.py, as the client pages do."""
    with app.app_context():
        db = db_session()
        keys = key_settings()
        org = staff.organisation(db)
        for _ in range(count):
            code = crypto.generate_return_code()
            digits = crypto.normalise_return_code(code)
            client, data_key = vault.create_client(db, org, digits, keys)
            scene.clients.append(Written(client.id, data_key, code))
            for section in SECTIONS:
                first_plain = scene.marker()
                fields = {
                    "plain": first_plain,
                    "ukrainian": f"Мене звати {scene.marker(CYRILLIC)}",
                    "arabic": f"اسمي {scene.marker(ARABIC)} من حلب",
                    "choices": [scene.marker(), scene.marker(CYRILLIC)],
                }
                vault.save_section(db, client, data_key, section, fields)
                # A change before sending replaces the answer; one after sending adds a version.
                fields = {**fields, "plain": scene.marker()}
                vault.save_section(db, client, data_key, section, fields)
                fields = {**fields, "changed": f"{scene.marker()} — ça va"}
                vault.save_section(db, client, data_key, section, fields, keep_history=True)
                scene.latest.extend(m for m in scene.markers[-7:] if m != first_plain)
        scene.plaintext_marker = ascii_marker()
        db.add(PartnerOrg(name=scene.plaintext_marker))
        db.commit()


def write_agreements(app, scene: Scene, coach_id: int) -> None:
    """Each client and their coach agree, sign, meet and look back, through the modules the
    pages use: every word they write is a marker."""
    with app.app_context():
        db = db_session()
        coach = db.get(StaffUser, coach_id)
        agreements.set_own_words(coach, {"margins": scene.marker(ARABIC)})
        form = form_library().live(db, DEFAULT_FORM_ID)
        for written in scene.clients:
            client = db.get(Client, written.client_id)
            key = written.data_key
            relationship = agreements.accept_relationship(
                db,
                client,
                key,
                coach,
                {"purpose": {"purpose": scene.marker()}},
                form.coach_side,
                own_words={"margins": scene.marker(CYRILLIC)},
            )
            agreements.sign_as_client(db, relationship, key, scene.marker(ARABIC))
            agreements.sign_as_coach(db, relationship, coach)
            plan = agreements.write_plan(db, client, key, coach, [scene.marker(), scene.marker()])
            agreements.respond(db, plan, key, agreements.Response.CHANGE, scene.marker())
            check_in = agreements.add_check_in(db, client, key, {"goal": scene.marker()})
            agreements.record_agreed(db, check_in, key, coach, scene.marker(CYRILLIC))
            session = agreements.record_session(db, client, key, coach, scene.marker())
            agreements.respond_to_session(db, session, key, "change_requested", scene.marker())
            agreements.add_strength(db, client, key, scene.marker(ARABIC))
            agreements.add_strength(db, client, key, scene.marker(), coach=coach)
            review = reviews.add_review(
                db,
                client,
                key,
                {
                    "working": scene.marker(CYRILLIC),
                    "not_working": scene.marker(),
                    "goals": "change",
                },
            )
            reviews.add_coach_view(db, review, key, coach, {"view": scene.marker(ARABIC)})
        db.commit()
        for table in (Review, Strength, CheckIn, Agreement):
            assert db.scalar(select(func.count()).select_from(table)), table  # not vacuous
        assert db.scalar(select(func.count()).where(ConsentEvent.signed_name_ct.is_not(None)))


@pytest.fixture
def scene(app, team, client, auth) -> Scene:
    result = Scene()
    write_answers(app, result)
    write_agreements(app, result, team.ids["coach"])
    # A live staff session row whose payload holds the organisation key.
    auth.sign_in("coach", browser=client)
    with app.app_context():
        rows = db_session().scalars(select(SessionRecord)).all()
        assert [row.staff_id for row in rows] == [team.ids["coach"]]
    # Secrets people hold, which must not be at rest either.
    result.markers.extend(PASSWORDS.values())
    result.markers.append(team.recovery_phrase)
    result.markers.append(crypto.normalise_recovery_phrase(team.recovery_phrase))
    result.markers.extend(team.totp.values())
    for written in result.clients:
        result.markers.extend([written.code, written.code.replace(" ", "")])
    return result


# --- what the attacker takes ---------------------------------------------------------------


@dataclass
class Loot:
    files: dict[str, bytes]
    values: list[bytes]  # every value of every row of every table, fetched through SQL
    config_secrets: dict[str, bytes]  # SECRET_KEY and LOOKUP_PEPPER from groundwork.cfg, decoded
    extra: list[bytes] = field(default_factory=list)  # what a control test plants

    def raw(self) -> list[bytes]:
        return [*self.files.values(), *self.values, *self.extra]

    def everything(self) -> list[bytes]:
        """The raw bytes, every hex or base64 run in them decoded, and the decoded secrets."""
        raw = self.raw()
        return [*raw, *decoded_runs(raw), *self.config_secrets.values()]


def read_files(folder: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def database_values(app) -> list[bytes]:
    values = []
    engine = database(app).engine
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - a reflected name
            values.append(table.encode())
            for row in rows:
                for value in row:
                    if value is None:
                        continue
                    if isinstance(value, bytes | bytearray | memoryview):
                        values.append(bytes(value))
                    else:
                        values.append(str(value).encode("utf-8"))
    return values


def steal(app, instance_path: Path, database_kind: str) -> Loot:
    files = read_files(instance_path)
    if database_kind == "sqlite":
        assert any(name.endswith("groundwork.sqlite") for name in files), files.keys()
    files.update(read_files(CONFIG_DIR))
    config = (instance_path / "groundwork.cfg").read_text()
    config_secrets = {name: bytes.fromhex(value) for name, value in CONFIG_SECRET.findall(config)}
    assert set(config_secrets) == {"SECRET_KEY", "LOOKUP_PEPPER"}
    return Loot(files=files, values=database_values(app), config_secrets=config_secrets)


def decoded_runs(blobs: Iterable[bytes]) -> list[bytes]:
    """Every long hex or base64 run in the bytes, decoded at every alignment."""
    decoded = []
    for blob in blobs:
        for match in HEX_RUN.finditer(blob):
            run = match.group()
            for start in (0, 1):
                chunk = run[start:]
                decoded.append(bytes.fromhex(chunk[: len(chunk) // 2 * 2].decode()))
        for match in BASE64_RUN.finditer(blob):
            run = match.group().translate(bytes.maketrans(b"-_", b"+/"))
            for start in range(4):
                chunk = run[start:]
                if len(chunk) % 4 == 1:
                    chunk = chunk[:-1]
                decoded.append(base64.b64decode(chunk + b"=" * (-len(chunk) % 4)))
    return decoded


# --- (a) the markers -----------------------------------------------------------------------


def markers_found(markers: Iterable[str], blobs: list[bytes]) -> set[str]:
    """The markers found in UTF-8, UTF-16 (either byte order) or JSON's \\u escapes."""
    found = set()
    for marker in markers:
        needles = [marker.encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be")]
        needles.append(json.dumps(marker)[1:-1].encode("ascii"))
        if any(needle in blob for needle in needles for blob in blobs):
            found.add(marker)
    return found


# --- (b) the key search --------------------------------------------------------------------


@dataclass
class Targets:
    """The envelopes the attacker wants open, read from the stolen rows."""

    answers: list[tuple[bytes, bytes]]  # (envelope, aad)
    dek_by_org: list[tuple[bytes, bytes]]
    key_holders: list[tuple[bytes, bytes]]  # session payloads and staff copies of the org key
    clients: list[Client]
    key_ids: set[bytes]  # every key id named by a secret-key envelope anywhere in the database
    org_key_ids: set[bytes]  # every public key id named by a sealed envelope
    # The X25519 halves of the post-quantum hybrid public keys stored (the organisation's and
    # each staff member's): a hybrid private key ends with the matching X25519 private key.
    x25519_halves: set[bytes] = field(default_factory=set)


def targets(app, loot: Loot) -> Targets:
    with database(app).sessions() as db:
        answers = [
            (
                a.ciphertext,
                vault.answer_aad(
                    a.client_id, a.section_key, a.schema_version, a.form_id, a.form_version
                ),
            )
            for a in db.scalars(select(Answer))
        ]
        clients = list(db.scalars(select(Client)))
        holders = [
            (row.payload, sessions._payload_aad(row.id_hash))
            for row in db.scalars(select(SessionRecord))
        ]
        holders += [
            (member.wrapped_org_key, staff._org_key_aad(member.id))
            for member in db.scalars(select(StaffUser))
            if member.wrapped_org_key
        ]
        public_keys = [m.public_key for m in db.scalars(select(StaffUser)) if m.public_key]
        public_keys += [org.public_key for org in db.scalars(select(Organisation))]
        db.expunge_all()
    sealed = [(c.dek_by_org, vault._dek_by_org_aad(c.id)) for c in clients if c.dek_by_org]
    key_ids, org_key_ids = set(), set()
    for value in loot.values:
        try:
            kind, kid = crypto.read_header(value)
        except crypto.DamagedEnvelope:
            continue
        if kind == crypto.KIND_SECRET_KEY:
            key_ids.add(kid)
        elif kind == crypto.KIND_SEALED:
            org_key_ids.add(kid)
    assert answers
    assert len(sealed) == len(clients) > 0
    assert {crypto.read_header(envelope)[1] for envelope, _ in answers} <= key_ids
    halves = {key[-WINDOW:] for key in public_keys if crypto.is_hybrid(key)}
    return Targets(answers, sealed, holders, clients, key_ids, org_key_ids, halves)


@dataclass
class Findings:
    named_keys: set[bytes] = field(default_factory=set)  # windows some envelope names
    org_keys: set[bytes] = field(default_factory=set)  # private keys: the org's or a staff one
    opened_answers: set[int] = field(default_factory=set)  # which answer envelopes opened
    opened_by_code: set[str] = field(default_factory=set)
    windows: int = 0


def opens_answers(key: bytes, answers: list[tuple[bytes, bytes]]) -> set[int]:
    opened = set()
    for index, (envelope, aad) in enumerate(answers):
        try:
            crypto.decrypt(key, envelope, aad)
        except crypto.CannotOpen:
            continue
        opened.add(index)
    return opened


def search(loot: Loot, goal: Targets, keys: vault.KeySettings, *, deeper: bool = True) -> Findings:
    """Try every 32-byte window as a data key and as an X25519 private key, every 96-byte window
    that ends in the X25519 half of a stored hybrid key as that hybrid private key; try every run
    of 16 digits as a return code. A hit is then opened for real, and whatever it opens (a session
    payload, a staff copy of the org key) is searched in turn."""
    findings = Findings()
    windows: set[bytes] = set()
    for blob in loot.everything():
        windows.update(blob[i : i + WINDOW] for i in range(len(blob) - WINDOW + 1))
    findings.windows = len(windows)
    x25519_hits = set()
    for window in windows:
        if crypto.key_id(window) in goal.key_ids:
            findings.named_keys.add(window)
        public = crypto.public_key_of(window)
        if crypto.public_key_id(public) in goal.org_key_ids:
            findings.org_keys.add(window)
        if public in goal.x25519_halves:
            x25519_hits.add(window)
    # A hybrid private key is 96 bytes: an ML-KEM-768 seed, then an X25519 private key. Any
    # window whose X25519 half belongs to a stored hybrid key is tried with the 64 bytes before
    # it as the seed (the whole key, wherever it lies in the stolen bytes).
    for blob in loot.everything() if x25519_hits else []:
        for start in range(crypto.MLKEM_SEED_SIZE, len(blob) - WINDOW + 1):
            if blob[start : start + WINDOW] in x25519_hits:
                candidate = blob[start - crypto.MLKEM_SEED_SIZE : start + WINDOW]
                if crypto.public_key_id(crypto.public_key_of(candidate)) in goal.org_key_ids:
                    findings.org_keys.add(candidate)

    for key in findings.named_keys:
        findings.opened_answers |= opens_answers(key, goal.answers)
    organisation_ids = {crypto.read_header(envelope)[1] for envelope, _ in goal.dek_by_org}
    for org_key in findings.org_keys:
        if crypto.public_key_id(crypto.public_key_of(org_key)) not in organisation_ids:
            continue  # a staff member's private key: it opens their copies, searched below
        for envelope, aad in goal.dek_by_org:
            data_key = crypto.unseal(org_key, envelope, aad)  # a hit that does not open fails
            findings.opened_answers |= opens_answers(data_key, goal.answers)

    # A real decrypt and unseal for a sample of windows, so the cheap check is not all we trust.
    sample = random.Random(0).sample(sorted(windows), min(300, len(windows)))
    for window in sample:
        if window not in findings.named_keys:
            assert opens_answers(window, goal.answers[:1]) == set()
        if window not in findings.org_keys:
            with pytest.raises(crypto.CannotOpen):
                crypto.unseal(window, *goal.dek_by_org[0])

    hashes = {c.lookup_hash: c for c in goal.clients}
    for blob in loot.raw():
        for match in DIGIT_RUN.finditer(blob):
            digits = re.sub(rb"[^0-9]", b"", match.group()).decode()
            for start in range(len(digits) - 15):
                code = digits[start : start + 16]
                client = hashes.get(crypto.code_keys(code, keys.pepper, keys.lookup).lookup)
                if client is not None:
                    data_key = vault.unlock_with_code(client, code, keys)  # a hit must open
                    findings.opened_by_code.add(code)
                    findings.opened_answers |= opens_answers(data_key, goal.answers)

    opened = []
    for key in findings.named_keys | findings.org_keys:
        for envelope, aad in goal.key_holders:
            for open_with in (crypto.decrypt, crypto.unseal):
                try:
                    opened.append(open_with(key, envelope, aad))
                except crypto.CannotOpen:
                    continue
    if opened and deeper:
        more = search(planted(*opened), goal, keys, deeper=False)
        findings.org_keys |= more.org_keys
        findings.named_keys |= more.named_keys
        findings.opened_answers |= more.opened_answers
    return findings


def planted(*blobs: bytes) -> Loot:
    return Loot(files={}, values=[], config_secrets={}, extra=list(blobs))


# --- the tests -----------------------------------------------------------------------------


@pytest.fixture
def loot(app, scene, instance_path, database_kind) -> Loot:
    return steal(app, instance_path, database_kind)


def test_no_answer_or_secret_text_is_in_the_stolen_files(scene, loot, database_kind):
    assert len(scene.markers) > 3 * len(SECTIONS) * 4
    assert markers_found(scene.markers, loot.raw()) == set()
    assert markers_found(scene.markers, decoded_runs(loot.raw())) == set()

    # The reading is real: a plaintext column written in the same transaction is seen, in the
    # database file itself (or its write-ahead log) on SQLite.
    assert markers_found([scene.plaintext_marker], loot.values) == {scene.plaintext_marker}
    if database_kind == "sqlite":
        database_files = [b for name, b in loot.files.items() if "groundwork.sqlite" in name]
        assert markers_found([scene.plaintext_marker], database_files) == {scene.plaintext_marker}


def test_no_key_or_code_in_the_stolen_files_opens_an_answer(app, scene, loot):
    with app.app_context():
        keys = key_settings()
    goal = targets(app, loot)
    assert len(goal.answers) == len(scene.clients) * len(SECTIONS) * 2
    # The coach's live session row and each coach's copy of the org key are targets too.
    assert len(goal.key_holders) >= 2
    holder_ids = {crypto.read_header(envelope)[1] for envelope, _ in goal.key_holders}
    assert holder_ids <= goal.key_ids | goal.org_key_ids
    findings = search(loot, goal, keys)
    assert findings.windows > 1000
    assert findings.named_keys == set()
    assert findings.org_keys == set()
    assert findings.opened_answers == set()
    assert findings.opened_by_code == set()


def test_the_search_finds_a_key_or_code_placed_in_the_stolen_files(
    app, client, team, scene, loot, database_kind
):
    """Controls: the same search, with a secret planted in the bytes, finds it and opens."""
    with app.app_context():
        keys = key_settings()
    goal = targets(app, loot)
    first = scene.clients[0]
    answers_each = 2 * len(SECTIONS)

    # Once over the whole theft: a data key written into the middle of the database itself.
    if database_kind == "sqlite":
        name = next(name for name in loot.files if name.endswith("groundwork.sqlite"))
        middle = len(loot.files[name]) // 2 + 3
        loot.files[name] = loot.files[name][:middle] + first.data_key + loot.files[name][middle:]
    else:
        loot.values[len(loot.values) // 2] += first.data_key
    found = search(loot, goal, keys)
    assert found.named_keys == {first.data_key}
    assert len(found.opened_answers) == answers_each
    assert found.org_keys == set()

    # Then over planted bytes alone: the search is a union over windows, so a window that
    # opens here opens anywhere in the theft.
    org_key = base64.b64encode(team.org_private_key).decode()
    found = search(planted(json.dumps({"secrets": {"org_key": org_key}}).encode()), goal, keys)
    assert team.org_private_key in found.org_keys  # (with the coach's own private key)
    assert len(found.opened_answers) == len(scene.clients) * answers_each

    found = search(planted(f"ORG_KEY = '{team.org_private_key.hex()}'".encode()), goal, keys)
    assert team.org_private_key in found.org_keys  # (with the coach's own private key)

    urlsafe = base64.urlsafe_b64encode(first.data_key).rstrip(b"=")
    found = search(planted(b"dek=" + urlsafe + b"&x=1"), goal, keys)
    assert found.named_keys == {first.data_key}

    found = search(planted(f"note: the code is {first.code}.".encode()), goal, keys)
    assert found.opened_by_code == {first.code.replace(" ", "")}

    # The key from the coach's cookie, were it ever written down, opens the session row, whose
    # organisation key then opens every answer.
    cookie = client.get_cookie(sessions.cookie_name(app))
    session_key = base64.urlsafe_b64decode(cookie.value.split(".")[1])
    found = search(planted(b"\x00" + session_key), goal, keys)
    assert session_key in found.named_keys
    assert team.org_private_key in found.org_keys  # (with the coach's own private key)
    assert len(found.opened_answers) == len(scene.clients) * answers_each

    ukrainian, arabic = scene.latest[0], scene.latest[1]
    blob = json.dumps({"ukrainian": ukrainian}, ensure_ascii=False).encode("utf-16-le")
    assert markers_found(scene.markers, [*loot.raw(), blob]) == {ukrainian}
    blob = json.dumps({"arabic": arabic}).encode()  # JSON writes the script as \uXXXX
    assert markers_found(scene.markers, [*loot.raw(), blob]) == {arabic}
    blob = base64.b64encode(json.dumps({"arabic": arabic}, ensure_ascii=False).encode())
    assert markers_found(scene.markers, decoded_runs([blob])) == {arabic}


def test_the_theft_would_notice_answers_stored_in_plaintext(
    app, team, instance_path, database_kind, monkeypatch
):
    """Control: break vault.py on purpose (answers stored as they were typed) and steal again."""
    real_encrypt = crypto.encrypt

    def answers_in_plaintext(key, plaintext, aad):
        return plaintext if aad.startswith(b"answer\x00") else real_encrypt(key, plaintext, aad)

    monkeypatch.setattr(crypto, "encrypt", answers_in_plaintext)
    broken = Scene()
    write_answers(app, broken, count=1)
    loot = steal(app, instance_path, database_kind)
    assert len(broken.latest) == 6 * len(SECTIONS)
    assert markers_found(broken.latest, loot.raw()) == set(broken.latest)


def test_the_theft_would_notice_an_unencrypted_session_payload(
    app, team, client, auth, instance_path, database_kind, monkeypatch
):
    """Control: store the session payload without encrypting it, sign in, steal: the
    organisation key is found in the session row and every answer opens."""

    def plain_encode(value, _key, _id_hash):
        secrets = {name: base64.b64encode(raw).decode() for name, raw in value.secrets.items()}
        return json.dumps({"data": dict(value), "secrets": secrets}).encode()

    def plain_decode(payload, _key, _id_hash):
        body = json.loads(payload)
        secrets = {name: base64.b64decode(raw) for name, raw in body["secrets"].items()}
        return body["data"], secrets

    broken = Scene()
    write_answers(app, broken, count=2)
    monkeypatch.setattr(sessions, "_encode", plain_encode)
    monkeypatch.setattr(sessions, "_decode", plain_decode)
    auth.sign_in("coach", browser=client)
    loot = steal(app, instance_path, database_kind)
    with app.app_context():
        keys = key_settings()
    found = search(loot, targets(app, loot), keys)
    assert team.org_private_key in found.org_keys  # (with the coach's own private key)
    assert len(found.opened_answers) == len(broken.clients) * 2 * len(SECTIONS)
