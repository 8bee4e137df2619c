"""Newcomers' return-code copies, made off the path to their first page.

A newcomer's return code costs one Argon2id derivation at the production cost, about a tenth
of a second of every core. Made inside the request that gives the code, a crowd arriving
together (a workshop at a drop-in centre, thirty phones on one Wi-Fi) queued behind everyone's
derivation before anyone saw page 1. So the record is made without the code's copy of the data
key (`vault.create_client_awaiting_code`), the person reads their code and page 1 at once, and
one thread in each process makes the copies in turn (`vault.give_code`).

Nothing is lost if a worker stops first: the visit holds the code and the data key (split-key
session secrets, as it always has) and which process queued the copy, and a later page of the
same visit asks again at once when that process is gone (`gone`), or else once
`ASK_AGAIN_AFTER` has passed (a process on another host cannot be seen from here). A process
that exits normally finishes its queue before it goes. This module knows nothing of Flask.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from intake import crypto, vault
from intake.models import Client

ASK_AGAIN_AFTER = 20.0  # seconds: far longer than a queue of copies takes to drain

logger = logging.getLogger(__name__)


def this_process() -> str:
    """Names this process among all processes on every host, as long as it lives."""
    return f"{socket.gethostname()}|{os.getpid()}|{_started(os.getpid())}"


def gone(process: str) -> bool:
    """True when `process` (from `this_process`) surely no longer runs: it ran on this host
    and its process id is free or belongs to a process started since."""
    host, _, rest = process.partition("|")
    pid, _, started = rest.partition("|")
    if host != socket.gethostname() or not pid.isdigit() or not started:
        return False
    return _started(int(pid)) != started


def _started(pid: int) -> str:
    """When a process started (clock ticks since boot, Linux); "" when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


class CodeCopies:
    """One queue per process of return-code copies still to make."""

    def __init__(self, sessions: sessionmaker[Session], keys: vault.KeySettings) -> None:
        self._sessions = sessions
        self._keys = keys
        self._lock = threading.Lock()
        self._pid = 0
        self._thread: ThreadPoolExecutor | None = None
        self._making: dict[str, Future[None]] = {}

    def make(self, client_id: str, code_digits: str, data_key: bytes) -> None:
        """Queue the copy of this client's data key under their code (once while queued)."""
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                # First use in this process; a forked worker's parent thread did not come along.
                self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="code-copies")
                self._making = {}
                self._pid = os.getpid()
            if client_id in self._making:
                return
            future = self._thread.submit(self._make, client_id, code_digits, data_key)
            self._making[client_id] = future
        future.add_done_callback(lambda _done: self._forget(client_id))

    def making(self, client_id: str) -> bool:
        """Whether this process has the copy for this client queued or under way."""
        with self._lock:
            return self._pid == os.getpid() and client_id in self._making

    def settle(self, timeout: float) -> bool:
        """Wait, at most `timeout` seconds, for every copy this process is making. True when
        there was any to wait for."""
        with self._lock:
            waiting = list(self._making.values()) if self._pid == os.getpid() else []
        if not waiting:
            return False
        wait(waiting, timeout)
        return True

    def _forget(self, client_id: str) -> None:
        with self._lock:
            self._making.pop(client_id, None)

    def _make(self, client_id: str, code_digits: str, data_key: bytes) -> None:
        try:
            with self._sessions() as db:
                client = db.get(Client, client_id)
                if client is None or not vault.awaits_code(client):
                    return  # made already (by another worker), or erased since
            code = crypto.code_keys(code_digits, self._keys.pepper, self._keys.lookup)
            with self._sessions() as db, db.begin():
                vault.give_code(db, client_id, data_key, code)
        except Exception as error:  # the visit asks again; the thread must live on
            # The error's class only: its text could carry a statement and never helps here.
            logger.warning(
                "a return code's copy was not made (%s); the person's next page asks again",
                type(error).__name__,
            )
