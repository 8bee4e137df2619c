"""`make load`: simulated people walk the whole client journey at once against gunicorn.

    make load                         # 8 people, 30 seconds, SQLite in a temporary folder
    make load CLIENTS=16 SECONDS=60
    DATABASE_URL=postgresql+psycopg://... make load   # an empty PostgreSQL database
    DATABASE_URL=postgresql+psycopg://... make load HOSTS=2   # two hosts, Redis, nginx in front

Each simulated person (a thread with its own keep-alive connection and cookies) walks
start → welcome → return code → agree → all 14 pages → check → send, then starts again as a
new person, until the time is up (a journey under way then is finished). Afterwards the
database is opened with the organisation key: the number of sent intakes must equal the number
of sends that were acknowledged, and every one must open and hold exactly what was typed.

Prints requests per second, p50/p95/p99 latency and errors, and exits 1 when anything was
lost, could not be opened, or failed. gunicorn runs as docs/deployment.md says (2 workers ×
4 threads) with the production Argon2id costs, unless --fast-keys.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field

from tools import serve, services
from tools.journey import (
    Browser,
    Journey,
    JourneyBroken,
    RequestFailed,
    Response,
    whole_journey,
)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    journeys: list[Journey] = field(default_factory=list)  # acknowledged sends only
    started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, _method: str, _path: str, response: Response | None, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if response is not None:
                self.statuses[response.status] = self.statuses.get(response.status, 0) + 1

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def person(url: str, until: float, tally: Tally, tls: ssl.SSLContext | None = None) -> None:
    while time.monotonic() < until:
        with tally.lock:
            tally.started += 1
        with Browser.at(url, timeout=300.0, on_response=tally.seen, tls=tls) as browser:
            try:
                journey = whole_journey(browser)
            except RequestFailed as problem:
                tally.error(f"no response: {problem}")
                continue
            except JourneyBroken as problem:
                tally.error(f"unexpected answer: {problem}")
                continue
        with tally.lock:
            tally.journeys.append(journey)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def check_database(instance: serve.Instance, journeys: list[Journey]) -> tuple[int, int, list[str]]:
    """Every acknowledged send is a sent intake that opens and holds what was typed; no other
    intake was sent; every client has both copies of their data key; every answer opens.

    Returns (sent intakes stored, sent intakes that opened and held what was typed, problems)."""
    from sqlalchemy import select

    from intake import vault
    from intake.db import database, db_session
    from intake.models import Answer, Client, ClientStatus
    from intake.questionnaire import DEFAULT_FORM

    problems: list[str] = []
    sent: list[Client] = []
    matched: set[int] = set()
    # The journey of each sent intake, found by the marker typed on its first page.
    first_text = next(q.key for q in DEFAULT_FORM.sections[0].questions if q.kind.endswith("text"))
    by_marker = {str(j.saved[1][first_text]): j for j in journeys}
    app = instance.app()
    try:
        with app.app_context():
            db = db_session()
            clients = list(db.scalars(select(Client)))
            sent = [c for c in clients if c.status == ClientStatus.SUBMITTED]
            if len(sent) != len(journeys):
                problems.append(f"{len(sent)} sent intakes stored, {len(journeys)} acknowledged")
            for client in clients:
                if client.dek_by_code is None or client.dek_by_org is None:
                    problems.append(f"client {client.id} lacks a copy of their data key")
                    continue
                data_key = vault.unlock_with_org_key(client, instance.org_private_key)
                for answer in db.scalars(select(Answer).where(Answer.client_id == client.id)):
                    if vault.open_answer(answer, data_key).fields is None:
                        problems.append(f"an answer of client {client.id} does not open")
                if client.status != ClientStatus.SUBMITTED:
                    continue
                opened = {
                    key: section.fields
                    for key, section in vault.read_sections(db, client, data_key).items()
                }
                first = opened.get(DEFAULT_FORM.sections[0].key) or {}
                journey = by_marker.get(str(first.get(first_text)))
                if journey is None:
                    problems.append(f"sent intake {client.id} matches no acknowledged send")
                    continue
                differs = [
                    number
                    for number, section in enumerate(DEFAULT_FORM.sections, start=1)
                    if opened.get(section.key) != journey.saved[number]
                ]
                if differs:
                    problems.append(f"sent intake {client.id}: pages {differs} differ")
                else:
                    matched.add(id(journey))
            if len(matched) != len(journeys):
                problems.append(f"{len(journeys) - len(matched)} acknowledged sends not stored")
    finally:
        database(app).engine.dispose()
    return len(sent), len(matched), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=int(os.environ.get("CLIENTS", 8)))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SECONDS", 30)))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--fast-keys", action="store_true", help="cheap Argon2id (not production)")
    parser.add_argument("--reset", action="store_true", help="empty the PostgreSQL database first")
    parser.add_argument(
        "--hosts",
        type=int,
        default=int(os.environ.get("HOSTS", 1)),
        help="more than 1: that many gunicorn hosts (the workers shared out), Redis, and nginx "
        "in front with deploy/nginx/groundwork.conf over TLS; needs PostgreSQL",
    )
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL")
    several = args.hosts > 1
    if several and not (database_url or "").startswith("postgresql"):
        raise SystemExit("Several hosts need PostgreSQL: set DATABASE_URL (see the docstring).")
    workers = max(1, args.workers // args.hosts) if several else args.workers
    tally = Tally()
    with contextlib.ExitStack() as running:
        redis = running.enter_context(services.RedisServer()) if several else None
        extra = {"HOSTS": args.hosts, "RATELIMIT_STORAGE_URI": redis.url} if redis else {}
        https_port = services.free_port()
        if several:
            extra |= {
                "TRUSTED_PROXIES": 1,
                "SECURE_COOKIES": True,
                "BEHIND_TLS": True,
                "PUBLIC_URL": f"https://127.0.0.1:{https_port}",
            }
        instance = serve.prepare(database_url, fast_keys=args.fast_keys, reset=args.reset, **extra)
        running.callback(instance.remove)
        kind = "PostgreSQL" if instance.database_url.startswith("postgresql") else "SQLite"
        shape = (
            f"{args.hosts} hosts behind nginx (TLS), Redis, each gunicorn"
            if several
            else "gunicorn"
        )
        print(
            f"load: {args.clients} people for {args.seconds:g} s; {shape} {workers} workers × "
            f"{args.threads} threads; {kind}; "
            f"{'cheap' if args.fast_keys else 'production'} Argon2id; {os.cpu_count()} cores",
            flush=True,
        )
        hosts = [
            running.enter_context(
                serve.Gunicorn(
                    instance.env,
                    workers=workers,
                    threads=args.threads,
                    log_path=instance.folder / f"gunicorn{n}.log",
                )
            )
            for n in range(args.hosts)
        ]
        url, tls = hosts[0].url, None
        if several:
            proxy_folder = instance.folder / "nginx"
            proxy_folder.mkdir(exist_ok=True)
            proxy = running.enter_context(
                services.Nginx(proxy_folder, [h.port for h in hosts], https_port=https_port)
            )
            url = proxy.url
            tls = ssl.create_default_context(cafile=str(proxy.certificate))
        began = time.monotonic()
        until = began + args.seconds
        people = [
            threading.Thread(target=person, args=(url, until, tally, tls), daemon=True)
            for _ in range(args.clients)
        ]
        for thread in people:
            thread.start()
        for thread in people:
            thread.join()
        elapsed = time.monotonic() - began
        codes_work = serve.every_code_works(instance, time.perf_counter())
        peaks = {pid: kib for host in hosts for pid, kib in host.peak_memory_kib().items()}
        stored, opened, problems = check_database(instance, tally.journeys)

    requests = len(tally.latencies)
    errors = sum(tally.errors.values())
    ms = [s * 1000 for s in tally.latencies]
    print(f"elapsed           {elapsed:8.1f} s")
    print(f"requests          {requests:8d}   ({requests / elapsed:.1f} per second)")
    print(
        f"latency           p50 {percentile(ms, 0.50):.1f} ms   p95 {percentile(ms, 0.95):.1f} ms"
        f"   p99 {percentile(ms, 0.99):.1f} ms   max {max(ms, default=0):.1f} ms"
    )
    print(f"statuses          {dict(sorted(tally.statuses.items()))}")
    print(f"errors            {errors}" + (f"   {tally.errors}" if errors else ""))
    print(f"journeys started  {tally.started:8d}")
    print(f"sends acknowledged{len(tally.journeys):8d}")
    print(f"sent intakes      {stored:8d}   stored; {opened} opened and hold what was typed")
    print(f"every code works  {codes_work:8.1f} s after the last person stopped")
    if peaks:
        print(f"peak memory       {', '.join(f'{kib / 1024:.0f} MiB' for kib in peaks.values())}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    ok = not problems and errors == 0
    print("load: OK" if ok else "load: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
