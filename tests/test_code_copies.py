"""A newcomer's return code is made to work off the path to their first page.

What a person in a crowd notices: saying yes gives them their code and page 1 without waiting
for the costly Argon2id derivation (it runs on this process's own queue, never on the thread
serving their page). What nobody may notice: the code works as soon as the copy is made, also
when they come back at once; a worker that stops before the copy is made loses nothing (their
next page asks again at once when that worker is seen to be gone, and after a while when it may
still run elsewhere); and a person who erases everything before the copy is made is not given
one afterwards.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest
from flask import Flask
from sqlalchemy import select
from support.journey import Phone, fill

from intake import code_copies as code_copies_module
from intake import crypto, vault
from intake.client import visit as visit_module
from intake.context import code_copies
from intake.db import database
from intake.models import Client, ClientStatus
from intake.questionnaire import DEFAULT_FORM

ABOUT_YOU = fill(DEFAULT_FORM.sections[0])


def only_client(app: Flask) -> Client:
    with database(app).sessions() as db:
        (client,) = db.scalars(select(Client))
        return client


def settle(app: Flask) -> None:
    with app.app_context():
        code_copies().settle(timeout=60)


class Derivations:
    """Which thread made each Argon2id derivation of a return code; a copy can be held back
    until `release()`, as a busy queue would hold it."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.released = threading.Event()
        self.released.set()

    def hold(self) -> None:
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def on_request_threads(self) -> list[str]:
        return [name for name in self.threads if not name.startswith("code-copies")]


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> Derivations:
    seen = Derivations()
    real = crypto.code_keys

    def watched(code_digits: str, pepper: bytes, params: crypto.KdfParams) -> crypto.CodeKeys:
        name = threading.current_thread().name
        seen.threads.append(name)
        if name.startswith("code-copies"):
            assert seen.released.wait(60), "the held copy was never released"
        return real(code_digits, pepper, params)

    monkeypatch.setattr(crypto, "code_keys", watched)
    return seen


def test_saying_yes_gives_the_code_and_page_1_without_deriving_on_the_way(
    app: Flask, team: object, derivations: Derivations
) -> None:
    derivations.hold()
    phone = Phone(app)
    code = phone.begin(code_works=False)
    phone.get("/page/1")
    assert derivations.on_request_threads() == [], "no derivation on the path to page 1"
    assert vault.awaits_code(only_client(app)), "the copy is still held back"

    derivations.release()
    settle(app)
    assert derivations.threads == ["code-copies_0"], "one derivation, on the queue's thread"
    phone.save_page(1, ABOUT_YOU)
    later = Phone(app)
    assert later.come_back(code).headers["Location"] == "/your-space"
    assert 'value="' + ABOUT_YOU["name"] in later.get("/page/1").get_data(as_text=True)


def test_coming_back_at_once_waits_for_the_copy_and_opens(
    app: Flask, team: object, derivations: Derivations
) -> None:
    derivations.hold()
    phone = Phone(app)
    code = phone.begin(code_works=False)
    laptop = Phone(app)
    laptop.get("/come-back")

    # The copy is released only when the code has found nobody and the request waits for
    # this process's queue; then the same code is tried again.
    real_open = vault.open_with_code
    real_settle = code_copies_module.CodeCopies.settle
    tries = []

    def opening(*args: object, **kwargs: object) -> object:
        tries.append(1)
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    def settling(copies: code_copies_module.CodeCopies, timeout: float) -> bool:
        derivations.release()
        return real_settle(copies, timeout)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vault, "open_with_code", opening)
        patch.setattr(code_copies_module.CodeCopies, "settle", settling)
        response = laptop.post("/come-back", {"code": code})
    assert response.headers["Location"] == "/your-space"
    assert len(tries) == 2, "found nobody, waited for the queue, found them"
    assert len(derivations.on_request_threads()) == 1, "one derivation for the return"


def test_a_wrong_code_is_still_kindly_refused_while_copies_are_made(
    app: Flask, team: object, derivations: Derivations
) -> None:
    Phone(app).begin(code_works=False)
    other = Phone(app)
    other.get("/come-back")
    page = other.post("/come-back", {"code": "1111 2222 3333 4444"}, status=400)
    assert "We could not find" in page.get_data(as_text=True)
    settle(app)
    assert not vault.awaits_code(only_client(app))


def a_stopped_worker() -> str:
    """How a worker process that has since stopped was named in a visit."""
    ran = subprocess.run(
        [
            sys.executable,
            "-c",
            "from intake.code_copies import this_process; print(this_process())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return ran.stdout.strip()


def a_running_process() -> str:
    """How a process that still runs on this host (the first one) would be named."""
    return f"{socket.gethostname()}|1|{code_copies_module._started(1)}"


def agree_in(app: Flask, monkeypatch: pytest.MonkeyPatch, process: str) -> Phone:
    """A newcomer who said yes in `process`, which queued their code's copy and lost it."""
    lost = []
    phone = Phone(app)
    phone.start()
    with monkeypatch.context() as queued_elsewhere:
        queued_elsewhere.setattr(code_copies_module.CodeCopies, "make", lambda *a: lost.append(a))
        queued_elsewhere.setattr(visit_module, "this_process", lambda: process)
        assert phone.agree().headers["Location"] == "/your-code"
    assert len(lost) == 1
    assert vault.awaits_code(only_client(app))
    return phone


def test_processes_are_told_apart_and_a_stopped_one_is_seen_to_be_gone() -> None:
    assert not code_copies_module.gone(code_copies_module.this_process())
    assert not code_copies_module.gone(a_running_process())
    assert code_copies_module.gone(a_stopped_worker())
    elsewhere = "another-host|" + code_copies_module.this_process().split("|", 1)[1]
    assert not code_copies_module.gone(elsewhere), "another host's processes cannot be seen"


def test_a_copy_lost_with_its_worker_is_made_on_the_next_page(
    app: Flask, team: object, derivations: Derivations, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = agree_in(app, monkeypatch, a_stopped_worker())
    code = phone.take_code()
    settle(app)
    assert not vault.awaits_code(only_client(app)), "asked again at once"
    assert Phone(app).come_back(code).headers["Location"] == "/your-space"


def test_a_copy_another_running_worker_has_queued_is_asked_again_only_later(
    app: Flask, team: object, derivations: Derivations, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = agree_in(app, monkeypatch, a_running_process())
    code = phone.take_code()
    phone.get("/page/1")
    settle(app)
    assert vault.awaits_code(only_client(app)), "not twice while the other may still make it"

    monkeypatch.setattr(visit_module, "ASK_AGAIN_AFTER", 0.0)
    phone.save_page(1, ABOUT_YOU)
    settle(app)
    assert not vault.awaits_code(only_client(app))
    other = Phone(app)
    assert other.come_back(code).headers["Location"] == "/your-space"


def test_erasing_everything_before_the_copy_is_made_leaves_no_way_in(
    app: Flask, team: object, derivations: Derivations
) -> None:
    derivations.hold()
    phone = Phone(app)
    code = phone.begin(code_works=False)
    phone.get("/my-choices")
    phone.post("/my-choices", {"purpose": "store_answers", "decision": "withdrawn"})
    phone.get("/delete-everything")
    assert phone.post("/delete-everything", {}).headers["Location"] == "/deleted"
    derivations.release()
    settle(app)
    erased = only_client(app)
    assert erased.status == ClientStatus.ERASED
    assert (erased.lookup_hash, erased.dek_by_code) == (None, None)
    other = Phone(app)
    other.get("/come-back")
    other.post("/come-back", {"code": code}, status=400)


def test_a_copy_made_twice_is_written_once(app: Flask, team: object) -> None:
    phone = Phone(app)
    code = phone.begin(code_works=False)
    settle(app)
    digits = crypto.normalise_return_code(code)
    assert digits is not None
    with app.app_context():
        keys = code_copies()._keys
        first = only_client(app)
        with database(app).sessions() as db:
            again = crypto.code_keys(digits, keys.pepper, keys.lookup)
            assert not vault.give_code(db, first.id, crypto.new_data_key(), again)
            db.commit()
    assert (only_client(app).lookup_hash, only_client(app).dek_by_code) == (
        first.lookup_hash,
        first.dek_by_code,
    )
