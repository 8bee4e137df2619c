"""Run Groundwork under gunicorn on loopback, for the fault tests, `make load` and `make bench`.

    instance = prepare()                      # a SQLite file in a new temporary folder
    instance = prepare(database_url=URL)      # or an empty PostgreSQL database
    with Gunicorn(instance.env, workers=2, threads=4) as server:
        server.url                            # http://127.0.0.1:<free port>
        server.worker_pids()                  # the worker processes (for SIGKILL, or memory)

`prepare` makes the settings (fresh secrets), migrates the database, publishes the consent
texts, and makes an organisation with an admin and a coach whose passwords and 6-digit-code
secrets are known (through `intake.staff`, as `flask org init` and an invite would).
`environment` turns settings into the environment gunicorn and `flask` read
(`GROUNDWORK_<NAME>`, DATABASE_URL, GROUNDWORK_INSTANCE_PATH).

Cookies: production cookies are `__Host-` and Secure, which a client on http://127.0.0.1
would not send back, so these instances set SECURE_COOKIES and BEHIND_TLS to false. Key
derivation keeps the production Argon2id costs unless `fast_keys=True` (the tests).

`Gunicorn` opens the listening socket itself on a free loopback port and hands it to gunicorn
(`--bind fd://N`), so there is no race for the port. It waits until `/` answers 200 (which
needs the database), and stops with SIGTERM (a graceful stop), then SIGKILL if it must.
Nothing here downloads anything.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.services import StartsAndStops

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Cheap key derivation, for the test suite (tests/support/app.py) and test servers only.
FAST_KEYS: dict[str, int] = {
    "KDF_ITERATIONS": 1,
    "KDF_MEMORY_KIB": 256,
    "KDF_LANES": 1,
    "LOOKUP_KDF_ITERATIONS": 1,
    "LOOKUP_KDF_MEMORY_KIB": 256,
    "LOOKUP_KDF_LANES": 1,
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_KIB": 256,
    "PASSWORD_HASH_PARALLELISM": 1,
}

PASSWORDS = {"admin": "lighthouse over the bay", "coach": "river stones and moss"}


@dataclass
class Instance:
    """A prepared Groundwork: where it lives, its settings, and who can sign in."""

    folder: Path
    settings: dict[str, Any]
    env: dict[str, str]
    org_private_key: bytes
    totp: dict[str, str] = field(default_factory=dict)  # username → TOTP secret
    ids: dict[str, int] = field(default_factory=dict)  # username → staff id
    owns_folder: bool = True

    @property
    def database_url(self) -> str:
        return str(self.settings["DATABASE_URL"])

    def app(self) -> Any:
        """An app on the same database and secrets, for looking at what was stored."""
        from intake import create_app

        return create_app(self.settings, instance_path=str(self.folder))

    def remove(self) -> None:
        if self.owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def settings_for(
    database_url: str, *, env: str = "production", fast_keys: bool = False, **extra: Any
) -> dict[str, Any]:
    """Settings for an instance on loopback http: fresh secrets, cookies an http client keeps."""
    return {
        "ENV": env,
        "SECRET_KEY": secrets.token_hex(32),
        "LOOKUP_PEPPER": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "SECURE_COOKIES": False,
        "BEHIND_TLS": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Production needs the address people open; links built on it are never followed here.
        "PUBLIC_URL": "https://groundwork.invalid",
        # One host: the only way production accepts a SQLite file.
        **({"HOSTS": 1} if database_url.startswith("sqlite") else {}),
        **(FAST_KEYS if fast_keys else {}),
        **extra,
    }


def environment(settings: Mapping[str, Any], instance_path: Path | str) -> dict[str, str]:
    """The environment in which gunicorn and `flask` load exactly these settings.

    Every value is written as JSON (Flask's `from_prefixed_env` reads JSON), so a hex secret is
    always a string. Inherited GROUNDWORK_* variables are dropped so nothing leaks in."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GROUNDWORK_") and name != "DATABASE_URL"
    }
    for name, value in settings.items():
        if name == "DATABASE_URL":
            env["DATABASE_URL"] = str(value)
        else:
            env[f"GROUNDWORK_{name}"] = json.dumps(value)
    env["GROUNDWORK_INSTANCE_PATH"] = str(instance_path)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def _refuse_used_postgresql(url: str, reset: bool) -> None:
    """An instance on PostgreSQL needs an empty database; `reset` empties it (DROP SCHEMA)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if reset:
                # The schema the connection works in: `public`, or a test worker's own.
                schema = connection.execute(text("SELECT current_schema()")).scalar_one()
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            elif "organisation" in inspect(connection).get_table_names():
                count = connection.execute(text("SELECT count(*) FROM organisation")).scalar()
                if count:
                    raise SystemExit(
                        "That database already has an organisation. Use an empty database, "
                        "or pass --reset to empty it (it drops every table)."
                    )
    finally:
        engine.dispose()


def prepare(
    database_url: str | None = None,
    *,
    folder: Path | None = None,
    fast_keys: bool = False,
    env: str = "production",
    reset: bool = False,
    **extra: Any,
) -> Instance:
    """A migrated database with an organisation, an admin and a coach (both with TOTP)."""
    from intake.cli import upgrade_database
    from intake.db import database

    owns = folder is None
    folder = Path(folder or tempfile.mkdtemp(prefix="groundwork-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{folder / 'groundwork.sqlite'}"
    if url.startswith("postgresql"):
        _refuse_used_postgresql(url, reset)
    settings = settings_for(url, env=env, fast_keys=fast_keys, **extra)
    instance = Instance(folder, settings, environment(settings, folder), b"", owns_folder=owns)
    app = instance.app()
    try:
        upgrade_database(app)
        org_key, totp, ids = make_organisation(app)
    finally:
        database(app).engine.dispose()
    instance.org_private_key, instance.totp, instance.ids = org_key, totp, ids
    return instance


def make_organisation(app: Any) -> tuple[bytes, dict[str, str], dict[str, int]]:
    """Publish the consent texts; make the organisation, an admin and a coach with TOTP.

    Returns the organisation private key, each account's TOTP secret and staff id."""
    from intake import staff
    from intake.cli import publish_shipped
    from intake.context import staff_crypto
    from intake.db import db_session
    from intake.models import Role

    with app.app_context():
        db = db_session()
        publish_shipped(db)
        keys = staff_crypto()
        _org, admin, _phrase = staff.init_organisation(
            db, "Groundwork test service", "admin", "Admin", PASSWORDS["admin"], keys
        )
        found = staff.check_password(db, "admin", PASSWORDS["admin"], keys, staff.SignInPolicy())
        assert found is not None
        org_key = staff.open_org_key(*found)
        assert org_key is not None
        coach = staff.create_staff(
            db,
            username="coach",
            display_name="Coach",
            role=Role.COACH,
            password=PASSWORDS["coach"],
            keys=keys,
            org_private_key=org_key,
        )
        totp: dict[str, str] = {}
        ids: dict[str, int] = {}
        for member in (admin, coach):
            checked = staff.check_password(
                db, member.username, PASSWORDS[member.username], keys, staff.SignInPolicy()
            )
            assert checked is not None
            secret = staff.new_totp_secret()
            staff.store_totp_secret(member, checked[1], secret)
            totp[member.username], ids[member.username] = secret, member.id
        db.commit()
    return org_key, totp, ids


# --- gunicorn -----------------------------------------------------------------------------


class ServerFailed(RuntimeError):
    """gunicorn stopped, or never answered; the message ends with its log."""


def free_listener() -> socket.socket:
    """A listening socket on a free loopback port, ready to hand to gunicorn."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def children_of(pid: int) -> list[int]:
    """The child processes of `pid` (gunicorn's master: its workers)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":  # a dead one not yet reaped is none
            found.append(int(entry.name))
    return sorted(found)


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM: the most resident memory the process has had, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Gunicorn(StartsAndStops):
    """`gunicorn APP` on a free loopback port; a context manager that starts and stops it."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        app: str = "wsgi:app",
        workers: int = 2,
        threads: int = 4,
        log_path: Path | None = None,
        extra_args: tuple[str, ...] = (),
        ready_path: str = "/",
        ready_within: float = 120.0,
    ) -> None:
        self.env = dict(env)
        self.app = app
        self.workers = workers
        self.threads = threads
        self.extra_args = extra_args
        self.ready_path = ready_path
        self.ready_within = ready_within
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])
        self.listener: socket.socket | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        assert self.listener is not None
        return int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        assert self.listener is not None
        return [
            str(BIN / "gunicorn"),
            "--bind",
            f"fd://{self.listener.fileno()}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--no-control-socket",  # gunicorn 25+: else every instance shares one control path
            "--graceful-timeout",
            "10",
            "--chdir",
            str(PROJECT_ROOT),
            *self.extra_args,
            self.app,
        ]

    def start(self) -> Gunicorn:
        self.listener = free_listener()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
                self.command,
                env=self.env,
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(self.listener.fileno(),),
                start_new_session=True,  # signals to this shell's group never reach it
            )
        self.wait_until_answering()
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def answers(self, path: str | None = None, timeout: float = 10.0) -> int | None:
        """The status of one GET, or None when nothing answered."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path or self.ready_path)
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.ready_within
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ServerFailed(f"gunicorn stopped ({self.process.returncode}):\n{self.log()}")
            if self.answers() == 200 and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.2)
        raise ServerFailed(f"gunicorn did not answer 200 on {self.ready_path}:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return children_of(self.process.pid)

    def peak_memory_kib(self) -> dict[int, int]:
        """Each worker's peak resident memory (VmHWM), in KiB."""
        peaks = {pid: peak_rss_kib(pid) for pid in self.worker_pids()}
        return {pid: kib for pid, kib in peaks.items() if kib is not None}

    def kill(self) -> None:
        """The host dies at once (SIGKILL to gunicorn and its workers), and its port refuses
        connections from now on."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        if self.listener is not None:
            self.listener.close()
            self.listener = None


def flask_command(*args: str) -> list[str]:
    """The command line of `flask --app intake ARGS` in this venv."""
    return [str(BIN / "flask"), "--app", "intake", *args]


def every_code_works(instance: Instance, since: float, limit: float = 120.0) -> float:
    """Seconds from `since` until every newcomer's return code opens their record: the copies
    are made off the path to page 1 (`intake/code_copies.py`), so this is later than page 1."""
    from sqlalchemy import create_engine, text

    engine = create_engine(instance.database_url)
    try:
        with engine.connect() as connection:
            while time.perf_counter() - since < limit:
                waiting = connection.execute(
                    text(
                        "SELECT count(*) FROM client "
                        "WHERE lookup_hash IS NULL AND status != 'erased'"
                    )
                ).scalar_one()
                connection.rollback()
                if waiting == 0:
                    break
                time.sleep(0.02)
    finally:
        engine.dispose()
    return time.perf_counter() - since
