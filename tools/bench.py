"""`make bench`: how fast Groundwork serves, against a bare Flask page, in one run.

    make bench                                      # SQLite in a temporary folder
    DATABASE_URL=postgresql+psycopg://... .venv/bin/python -m tools.bench --reset

Every case runs on the same gunicorn settings (docs/deployment.md: 2 workers × 4 threads,
gthread) with the production Argon2id costs, and is measured with a fixed number of requests
from 8 keep-alive connections (the driver below: Python threads on raw sockets, no
compression asked for). The cases:

- baseline: a bare Flask app (`baseline_app` here) rendering a template whose output is
  exactly as long as the client form page;
- a crowd arriving: 30 newcomers start at the same moment, each on a connection of their
  own, from the first page to holding a return code and seeing page 1 (the time each waits is
  measured; the cost of one newcomer's key set-up, one Argon2id derivation at the production
  cost, is measured alone and printed, and so is when every one of their codes works: the
  derivations are made just after page 1, `intake/code_copies.py`);
- a client form page (GET /page/3, the largest page), each connection its own person;
- saving that page (POST, a 302 onwards), each connection its own person;
- the coach workspace with 100 clients, and again with 10,000;
- one client's full record (every page answered), as their coach;
- `flask keys rotate` over 10,000 clients (wall clock, as an operator runs it).

Each case prints requests per second and its ratio to the baseline, and the CPU time its
workers spent per request (user + system, read from /proc: steadier than requests per second
when other work shares the machine); the workspace at 10,000
is compared with itself at 100 (time per request); peak memory (VmHWM) of every worker. The
targets are the speed issue's: the crowd's p95 and p99, the client page and save as ratios
to the baseline, the staff pages as CPU per request, memory per worker. Seeded clients have
real envelopes made through `intake.vault` (their return-code copy with a cheap Argon2id,
which no case opens). docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tools import serve
from tools.journey import (
    Browser,
    JourneyBroken,
    RequestFailed,
    answers_for,
    expect,
    sign_in_staff,
    start,
    whole_journey,
)

PAGE = 3  # the client page the GET and POST cases use: the largest (contact)
CONNECTIONS = 8
CROWD = 30  # newcomers arriving at once: a workshop at a drop-in centre
CROWD_P95_MS, CROWD_P99_MS = 2000, 3000
CLIENT_PAGE_RATIO, SAVE_RATIO = 0.35, 0.30  # of the baseline's requests per second
STAFF_CPU_MS = 6.0  # a workspace page or a whole record, per request
WORKER_MEMORY_MIB = 160
SEED_KDF = (1, 256, 1)  # Argon2id for seeded clients' return-code copies (never opened here)

# --- the baseline -------------------------------------------------------------------------

BASELINE_TEMPLATE = """<!doctype html>
<html lang="en" dir="ltr">
<head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/site.css"></head>
<body><main><h1>{{ title }}</h1>
{% for row in rows %}<p class="row">{{ row }}</p>
{% endfor %}</main></body></html>
"""


def baseline_app() -> Any:
    """A bare Flask app whose one page renders a template of BENCH_PAGE_BYTES bytes."""
    from flask import Flask, render_template
    from jinja2 import DictLoader

    size = int(os.environ["BENCH_PAGE_BYTES"])
    app = Flask("baseline")
    app.jinja_loader = DictLoader({"page.html": BASELINE_TEMPLATE})  # type: ignore[assignment]
    title = "A form page"
    line = "Why we ask: so a coach knows how to talk with you. Only your coach sees this. "
    rows: list[str] = []
    with app.app_context():
        empty = len(render_template("page.html", title=title, rows=[]).encode())
        row_cost = len('<p class="row"></p>\n')
        room = size - empty
        while room >= len(line) + row_cost:
            rows.append(line)
            room -= len(line) + row_cost
        if room > row_cost:
            rows.append("x" * (room - row_cost))
        rendered = len(render_template("page.html", title=title, rows=rows).encode())
    app.config["BENCH_RENDERED_BYTES"] = rendered

    @app.route("/")
    def page() -> str:
        return render_template("page.html", title=title, rows=rows)

    return app


# --- the driver ---------------------------------------------------------------------------


@dataclass
class Measured:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    statuses: dict[int, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # of the server's workers, while these requests were served

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def _request_bytes(method: str, path: str, port: int, cookie: str, body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    if method == "POST":
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection:
    """One keep-alive HTTP/1.1 connection that reads Content-Length or chunked bodies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _fill(self, sock: socket.socket) -> None:
        data = sock.recv(262144)
        if not data:
            raise ConnectionError("closed")
        self.buffer += data

    def exchange(self, request: bytes) -> int:
        sock = self._connect()
        try:
            sock.sendall(request)
            while b"\r\n\r\n" not in self.buffer:
                self._fill(sock)
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            status = int(head[9:12])
            lowered = head.lower()
            if b"transfer-encoding: chunked" in lowered:
                self._read_chunked(sock)
            else:
                length = 0
                marker = lowered.find(b"\r\ncontent-length:")
                if marker >= 0:
                    end = lowered.find(b"\r\n", marker + 2)
                    length = int(lowered[marker + 17 : end if end > 0 else None])
                while len(self.buffer) < length:
                    self._fill(sock)
                self.buffer = self.buffer[length:]
            if b"connection: close" in lowered:
                self.close()
            return status
        except (OSError, ValueError):
            self.close()
            raise

    def _read_chunked(self, sock: socket.socket) -> None:
        while True:
            while b"\r\n" not in self.buffer:
                self._fill(sock)
            size_line, _, self.buffer = self.buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(self.buffer) < size + 2:
                self._fill(sock)
            self.buffer = self.buffer[size + 2 :]
            if size == 0:
                return


def drive(
    port: int,
    requests: list[bytes],
    total: int,
    expected: int,
    warm_up: int = 40,
) -> Measured:
    """`total` requests over len(requests) connections at once (connection i sends
    requests[i] again and again); `warm_up` more first, not counted."""
    per_connection = [
        total // len(requests) + (i < total % len(requests)) for i in range(len(requests))
    ]
    latencies: list[list[float]] = [[] for _ in requests]
    statuses: list[dict[int, int]] = [{} for _ in requests]
    errors = [0] * len(requests)
    ready = threading.Barrier(len(requests) + 1)
    go = threading.Event()

    def run(i: int) -> None:
        connection = _Connection(port)
        for _ in range(max(1, warm_up // len(requests))):
            with contextlib.suppress(OSError, ValueError):
                connection.exchange(requests[i])
        ready.wait()
        go.wait()
        mine = latencies[i]
        for _ in range(per_connection[i]):
            began = time.perf_counter()
            try:
                status = connection.exchange(requests[i])
            except (OSError, ValueError):
                errors[i] += 1
                continue
            mine.append(time.perf_counter() - began)
            statuses[i][status] = statuses[i].get(status, 0) + 1
            if status != expected:
                errors[i] += 1
        connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    merged: dict[int, int] = {}
    for found in statuses:
        for status, count in found.items():
            merged[status] = merged.get(status, 0) + count
    return Measured(total, seconds, [x for xs in latencies for x in xs], sum(errors), merged)


# --- seeding ------------------------------------------------------------------------------


def seed_clients(instance: serve.Instance, count: int, coach_id: int) -> None:
    """`count` sent clients assigned to the coach, each with real envelopes (through
    `intake.vault`) and a "what to call you" answer, each changed at its own time, all
    before any real client."""
    from sqlalchemy import update

    from intake import crypto, staff, vault
    from intake.db import database, db_session
    from intake.models import Client, ClientStatus, utcnow

    cheap = crypto.KdfParams(*SEED_KDF)
    app = instance.app()
    try:
        with app.app_context():
            db = db_session()
            org = staff.organisation(db)
            assert org is not None
            keys = vault.KeySettings(
                pepper=bytes.fromhex(instance.settings["LOOKUP_PEPPER"]), kdf=cheap, lookup=cheap
            )
            long_ago = utcnow() - timedelta(days=400)
            made: list[str] = []
            for n in range(count):
                code = crypto.normalise_return_code(crypto.generate_return_code())
                assert code is not None
                client, data_key = vault.create_client(db, org, code, keys)
                vault.save_section(db, client, data_key, "name", {"name": f"Seeded person {n}"})
                made.append(client.id)
            # Sent long ago, each at its own time (as people are), before any real client.
            db.execute(
                update(Client),
                [
                    {
                        "id": client_id,
                        "status": ClientStatus.SUBMITTED,
                        "submitted_at": long_ago - timedelta(minutes=n),
                        "shared_at": long_ago - timedelta(minutes=n),
                        "updated_at": long_ago - timedelta(minutes=n),
                        "assigned_coach_id": coach_id,
                    }
                    for n, client_id in enumerate(made)
                ],
            )
            db.commit()
    finally:
        database(app).engine.dispose()


def real_client(instance: serve.Instance, url: str, coach_id: int) -> str:
    """A person who answered every page and sent, assigned to the coach: their id."""
    from sqlalchemy import update

    from intake import vault
    from intake.context import key_settings
    from intake.db import database, db_session
    from intake.models import Client

    with Browser.at(url) as browser:
        journey = whole_journey(browser)
    app = instance.app()
    try:
        with app.app_context():
            db = db_session()
            client = vault.find_client(db, journey.code, key_settings())
            for _ in range(60):  # the code's copy is made just after the code is given
                if client is not None:
                    break
                time.sleep(0.5)
                client = vault.find_client(db, journey.code, key_settings())
            assert client is not None
            db.execute(
                update(Client).where(Client.id == client.id).values(assigned_coach_id=coach_id)
            )
            db.commit()
            return client.id
    finally:
        database(app).engine.dispose()


def client_sessions(url: str, count: int) -> list[tuple[str, str]]:
    """(cookie, CSRF token) of `count` people who agreed and are on the bench's page."""
    found = []
    for _ in range(count):
        with Browser.at(url) as browser:
            start(browser)
            expect(browser.get(f"/page/{PAGE}"), 200)
            cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
            assert browser.token is not None
            found.append((cookie, browser.token))
    return found


def page_size(url: str, cookie: str) -> int:
    connection = Browser.at(url)
    name, _, value = cookie.partition("=")
    connection.cookies[name] = value
    with connection:
        return len(expect(connection.get(f"/page/{PAGE}"), 200).body.encode())


# --- a crowd arriving ---------------------------------------------------------------------


def crowd_arrives(url: str, people: int) -> tuple[Measured, float]:
    """`people` newcomers start at once, each on their own connection: the seconds each took
    from the first page to seeing page 1 (start → welcome → agree → their code → page 1), and
    when they began (`time.perf_counter()`)."""
    times: list[float] = []
    failures = [0]
    lock = threading.Lock()
    ready = threading.Barrier(people + 1)

    def arrive() -> None:
        with Browser.at(url) as browser:
            ready.wait()
            began = time.perf_counter()
            try:
                start(browser)
                expect(browser.get("/page/1"), 200)
            except (JourneyBroken, RequestFailed, OSError):  # counted, not raised
                with lock:
                    failures[0] += 1
                return
            with lock:
                times.append(time.perf_counter() - began)

    threads = [threading.Thread(target=arrive) for _ in range(people)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Measured(people, time.perf_counter() - began, times, failures[0]), began


def key_setup_ms(instance: serve.Instance, tries: int = 5) -> tuple[float, str]:
    """What one newcomer's key set-up costs, alone: one Argon2id derivation of their code at
    the production cost, split into their lookup value and wrapping key (milliseconds, the
    median of `tries`), and the cost it ran at."""
    from intake import crypto

    settings = instance.settings
    params = crypto.KdfParams(
        int(settings.get("LOOKUP_KDF_ITERATIONS", 3)),
        int(settings.get("LOOKUP_KDF_MEMORY_KIB", 65536)),
        int(settings.get("LOOKUP_KDF_LANES", 4)),
    )
    pepper = bytes.fromhex(str(settings["LOOKUP_PEPPER"]))
    spent = []
    for _ in range(tries):
        began = time.perf_counter()
        crypto.code_keys("4827193055612204", pepper, params)
        spent.append(time.perf_counter() - began)
    cost = f"t={params.iterations}, {params.memory_kib // 1024} MiB, {params.lanes} lanes"
    return 1000 * sorted(spent)[tries // 2], cost


# --- rotation -----------------------------------------------------------------------------


@dataclass
class Rotated:
    seconds: float
    resealed: int
    peak_kib: int | None
    output: str


def rotate(instance: serve.Instance) -> Rotated:
    """`flask keys rotate --admin admin`, as an operator runs it, timed from start to exit."""
    began = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own flask command
        serve.flask_command("keys", "rotate", "--admin", "admin"),
        env=instance.env,
        cwd=serve.PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # no terminal: the password prompt reads stdin
    )
    assert process.stdin is not None
    process.stdin.write(serve.PASSWORDS["admin"] + "\n")
    process.stdin.close()
    peak: int | None = None
    while process.poll() is None:
        peak = serve.peak_rss_kib(process.pid) or peak
        time.sleep(0.05)
    seconds = time.perf_counter() - began
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise SystemExit(f"flask keys rotate failed:\n{output}")
    resealed = 0
    for line in output.splitlines():
        if line.startswith("Re-sealed the data keys of "):
            resealed = int(line.split()[5])
    return Rotated(seconds, resealed, peak, output)


def check_rotation(instance: serve.Instance) -> int:
    """Every client's data key opens with the admin's copy of the new key: how many."""
    from sqlalchemy import select

    from intake import staff, vault
    from intake.context import staff_crypto
    from intake.db import database, db_session
    from intake.models import Client

    app = instance.app()
    try:
        with app.app_context():
            db = db_session()
            found = staff.check_password(
                db, "admin", serve.PASSWORDS["admin"], staff_crypto(), staff.SignInPolicy()
            )
            assert found is not None
            key = staff.open_org_key(*found)
            assert key is not None
            opened = 0
            for client in db.scalars(select(Client)):
                vault.unlock_with_org_key(client, key)
                opened += 1
            db.rollback()
            return opened
    finally:
        database(app).engine.dispose()


# --- the run ------------------------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of these processes (a process that is gone counts 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def drive_server(
    server: serve.Gunicorn, requests: list[bytes], total: int, expected: int
) -> Measured:
    """`drive`, and the CPU time the server's workers spent meanwhile."""
    pids = server.worker_pids()
    before = cpu_seconds(pids)
    measured = drive(server.port, requests, total, expected)
    measured.cpu_seconds = cpu_seconds(pids) - before
    return measured


def merged(parts: list[Measured]) -> Measured:
    statuses: dict[int, int] = {}
    for part in parts:
        for status, count in part.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return Measured(
        sum(p.requests for p in parts),
        sum(p.seconds for p in parts),
        [x for p in parts for x in p.latencies],
        sum(p.errors for p in parts),
        statuses,
        sum(p.cpu_seconds for p in parts),
    )


@dataclass
class Pair:
    """A case measured in rounds, each right after a round of the baseline, so that a change
    in what else the machine is doing moves both alike."""

    case: Measured
    baseline: Measured

    @property
    def ratio(self) -> float:
        return self.case.per_second / self.baseline.per_second


class Bench:
    def __init__(
        self, bare: serve.Gunicorn, app: serve.Gunicorn, rounds: int, baseline_requests: int
    ) -> None:
        self.bare_server = bare
        self.app_server = app
        self.bare = [_request_bytes("GET", "/", bare.port, "", b"")] * CONNECTIONS
        self.rounds = rounds
        self.baseline_requests = baseline_requests
        self.baselines: list[Measured] = []

    def pair(self, requests: list[bytes], total: int, expected: int) -> Pair:
        cases, bases = [], []
        for _ in range(self.rounds):
            bases.append(
                drive_server(
                    self.bare_server, self.bare, self.baseline_requests // self.rounds, 200
                )
            )
            cases.append(
                drive_server(
                    self.app_server, requests, max(CONNECTIONS, total // self.rounds), expected
                )
            )
        self.baselines += bases
        return Pair(merged(cases), merged(bases))


@dataclass
class Row:
    case: str
    measured: Measured | None
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, Python {sys.version.split()[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0, help="more or fewer requests")
    parser.add_argument("--rounds", type=int, default=4, help="baseline/case alternations")
    parser.add_argument("--clients", type=int, default=10_000, help="the large workspace")
    parser.add_argument("--reset", action="store_true", help="empty the PostgreSQL database first")
    args = parser.parse_args(argv)
    counts = {"baseline": 2000, "get": 2000, "post": 1000, "workspace": 800, "record": 400}
    counts = {k: max(CONNECTIONS * args.rounds, int(v * args.scale)) for k, v in counts.items()}

    began = time.monotonic()
    instance = serve.prepare(os.environ.get("DATABASE_URL"), reset=args.reset)
    kind = "PostgreSQL" if instance.database_url.startswith("postgresql") else "SQLite"
    print(f"bench: {machine()}; load average {os.getloadavg()[0]:.1f} at the start")
    print(
        f"bench: gunicorn {args.workers} workers × {args.threads} threads (gthread) for every "
        f"case; {kind}; production Argon2id; {CONNECTIONS} keep-alive connections; "
        f"{args.rounds} rounds per case, each after a round of the baseline"
    )
    sys.stdout.flush()
    rows: list[Row] = []
    peaks: dict[str, list[int]] = {}
    coach_id = instance.ids["coach"]
    options = {"workers": args.workers, "threads": args.threads}
    try:
        with serve.Gunicorn(
            instance.env, log_path=instance.folder / "gunicorn.log", **options
        ) as server:
            port = server.port
            people = client_sessions(server.url, CONNECTIONS)
            size = page_size(server.url, people[0][0])
            record_id = real_client(instance, server.url, coach_id)
            setup_ms, setup_cost = key_setup_ms(instance)
            arrived, crowd_began = crowd_arrives(server.url, CROWD)
            codes_work = serve.every_code_works(instance, crowd_began)
            rows.append(
                Row(
                    f"a crowd: {CROWD} newcomers at once",
                    arrived,
                    None,
                    f"p95 ≤ {CROWD_P95_MS / 1000:.0f} s, p99 ≤ {CROWD_P99_MS / 1000:.0f} s",
                    arrived.errors == 0
                    and arrived.percentile(0.95) <= CROWD_P95_MS
                    and arrived.percentile(0.99) <= CROWD_P99_MS,
                    f"each from the first page to page 1; every code opened "
                    f"{codes_work:.2f} s after they began; one newcomer's key set-up alone: "
                    f"{setup_ms:.0f} ms (one Argon2id, {setup_cost})",
                )
            )
            seed_clients(instance, 99, coach_id)
            with Browser.at(server.url) as coach:
                sign_in_staff(coach, "coach", serve.PASSWORDS["coach"], instance.totp["coach"])
                staff_cookie = "; ".join(f"{k}={v}" for k, v in coach.cookies.items())

            env = {**instance.env, "BENCH_PAGE_BYTES": str(size)}
            with serve.Gunicorn(
                env,
                app="tools.bench:baseline_app()",
                log_path=instance.folder / "baseline.log",
                **options,
            ) as bare:
                bench = Bench(bare, server, args.rounds, counts["baseline"])

                got = bench.pair(
                    [_request_bytes("GET", f"/page/{PAGE}", port, c, b"") for c, _t in people],
                    counts["get"],
                    200,
                )
                rows.append(_row(f"client form page (GET /page/{PAGE})", got, CLIENT_PAGE_RATIO))

                section = _section(PAGE)
                posts = [
                    _request_bytes(
                        "POST",
                        f"/page/{PAGE}",
                        port,
                        cookie,
                        urlencode(
                            {**answers_for(section), "action": "continue", "csrf_token": token},
                            doseq=True,
                        ).encode(),
                    )
                    for cookie, token in people
                ]
                rows.append(
                    _row(
                        "save a page (POST, 302)",
                        bench.pair(posts, counts["post"], 302),
                        SAVE_RATIO,
                    )
                )

                workspace = [_request_bytes("GET", "/workspace", port, staff_cookie, b"")]
                small = bench.pair(workspace * CONNECTIONS, counts["workspace"], 200)
                rows.append(_staff_row("coach workspace, 100 clients", small))
                record = [_request_bytes("GET", f"/clients/{record_id}", port, staff_cookie, b"")]
                rows.append(
                    _staff_row(
                        "one client's full record (14 pages)",
                        bench.pair(record * CONNECTIONS, counts["record"], 200),
                    )
                )

                seeding = time.perf_counter()
                seed_clients(instance, args.clients - 100, coach_id)
                seeded = time.perf_counter() - seeding
                large = bench.pair(workspace * CONNECTIONS, counts["workspace"], 200)
                growth = small.ratio / large.ratio  # time per request, each against its baseline
                raw = small.case.per_second / large.case.per_second
                rows.append(
                    Row(
                        f"coach workspace, {args.clients:,} clients",
                        large.case,
                        large.ratio,
                        f"≤ 1.5× its time at 100, ≤ {STAFF_CPU_MS:.0f} ms CPU",
                        growth <= 1.5 and large.case.cpu_ms_per_request <= STAFF_CPU_MS,
                        f"{growth:.2f}× the time per request at 100 (against the baseline; "
                        f"{raw:.2f}× as measured)",
                    )
                )
                peaks["baseline"] = list(bare.peak_memory_kib().values())
            peaks["app"] = list(server.peak_memory_kib().values())

        rotated = rotate(instance)
        opened = check_rotation(instance)
        rows.append(
            Row(
                f"flask keys rotate, {rotated.resealed:,} clients",
                None,
                None,
                "< 60 s",
                rotated.seconds < 60 and opened == rotated.resealed,
                f"{rotated.seconds:.1f} s; {opened:,} data keys open with the new key",
            )
        )
    finally:
        instance.remove()

    base = merged(bench.baselines)
    rows.insert(0, Row(f"baseline: bare Flask, {size:,} B page", base, 1.0))
    _print(rows, peaks, rotated, seeded, args.clients)
    missed = [row.case for row in rows if row.ok is False]
    if max(peaks.get("app") or [0]) >= WORKER_MEMORY_MIB * 1024:
        missed.append(f"peak memory per worker under {WORKER_MEMORY_MIB} MiB")
    print(f"bench: {time.monotonic() - began:.0f} s in all; ", end="")
    print("every target met" if not missed else "targets missed: " + "; ".join(missed))
    return 1 if missed else 0


def _section(number: int) -> Any:
    from intake.questionnaire import DEFAULT_FORM

    return DEFAULT_FORM.sections[number - 1]


def _staff_row(case: str, pair: Pair) -> Row:
    cpu = pair.case.cpu_ms_per_request
    return Row(case, pair.case, pair.ratio, f"≤ {STAFF_CPU_MS:.0f} ms CPU", cpu <= STAFF_CPU_MS)


def _row(case: str, pair: Pair, target: float | None) -> Row:
    if target is None:
        return Row(case, pair.case, pair.ratio)
    return Row(case, pair.case, pair.ratio, f"≥ {target:.2f} of the baseline", pair.ratio >= target)


def _print(
    rows: list[Row], peaks: dict[str, list[int]], rotated: Rotated, seeded: float, clients: int
) -> None:
    print()
    print(
        f"{'case':38} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
        f" {'errors':>6} {'cpu ms':>6} {'ratio':>6}  {'target':24} ok?"
    )
    for row in rows:
        m = row.measured
        numbers = (
            f"{m.requests:8d} {m.per_second:8.1f} {m.percentile(0.5):7.1f}"
            f" {m.percentile(0.95):7.1f} {m.percentile(0.99):7.1f} {m.errors:6d}"
            f" {m.cpu_ms_per_request:6.2f}"
            if m
            else " " * 59
        )
        ratio = f"{row.ratio:6.3f}" if row.ratio is not None else " " * 6
        ok = "" if row.ok is None else ("yes" if row.ok else "NO")
        print(f"{row.case:38} {numbers} {ratio}  {row.target:24} {ok}")
        if row.note:
            print(f"{'':38}   {row.note}")
        if m and m.errors:  # a wrong status, or a connection that failed (the rest)
            print(f"{'':38}   statuses: {m.statuses}")
    print()
    for name, values in peaks.items():
        shown = ", ".join(f"{kib / 1024:.1f} MiB" for kib in values)
        target = f" (target: under {WORKER_MEMORY_MIB} MiB)" if name == "app" else ""
        print(f"peak memory per worker ({name}): {shown}{target}")
    if rotated.peak_kib:
        print(f"peak memory of flask keys rotate: about {rotated.peak_kib / 1024:.0f} MiB")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"seeding {clients - 100:,} clients took {seeded:.1f} s; the driver peaked at {own:.0f} MiB"
    )


if __name__ == "__main__":
    sys.exit(main())
