"""Servers Groundwork runs beside it on several hosts, started for real on loopback: Redis for
the shared count of tries, nginx in front, and a test certificate for it.

Each is Debian's own program (`redis-server`, `nginx`, `openssl`), started by hand on free ports
in a folder of its own, and stopped with SIGTERM. nginx runs the very site file shipped in
`deploy/nginx/groundwork.conf`, with only the lines an operator changes set for loopback.
Nothing here downloads anything.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self


class ServiceMissing(RuntimeError):
    """The program is not installed (`.ci/run` installs it)."""


def free_port() -> int:
    """A loopback port nobody listens on now (a program that binds it itself needs a number)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StartsAndStops:
    """A server a test or a tool starts and stops: `with Server(...) as server:`."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()


class LoopbackProcess(StartsAndStops):
    """A program of Debian's running on loopback: stopped with SIGTERM (SIGKILL after 10 s)."""

    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class RedisServer(LoopbackProcess):
    """`redis-server` on a free loopback port, memory only; a context manager."""

    def __init__(self, folder: Path | None = None) -> None:
        self.program = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(self.program).exists():
            raise ServiceMissing("redis-server is not installed (Debian's redis-server)")
        self.folder = Path(folder or tempfile.mkdtemp(prefix="groundwork-redis-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.port = free_port()
        with (self.folder / "redis.log").open("wb") as log:
            self.process = self._spawn(log)
        self._wait_until_answering()
        return self

    def _spawn(self, log: BinaryIO) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - Debian's redis-server, fixed arguments
            [
                self.program,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _wait_until_answering(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError("redis-server stopped:\n" + self.log())
            if self.answers():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer:\n" + self.log())

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


# --- a test certificate -------------------------------------------------------------------


def test_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day (openssl)."""
    program = shutil.which("openssl")
    if program is None:
        raise ServiceMissing("openssl is not installed (Debian's openssl)")
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = folder / "proxy.crt", folder / "proxy.key"
    subprocess.run(  # noqa: S603 - Debian's openssl, fixed arguments
        [
            program, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(certificate),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key


# --- nginx --------------------------------------------------------------------------------

SITE = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "groundwork.conf"
SHIPPED_HOSTS = (
    "server 10.0.0.11:8000 max_fails=1 fail_timeout=10s; "
    "server 10.0.0.12:8000 max_fails=1 fail_timeout=10s;"
)
SHIPPED_CERTIFICATE = "/etc/letsencrypt/live/forms.example.org/fullchain.pem"
SHIPPED_KEY = "/etc/letsencrypt/live/forms.example.org/privkey.pem"
SHIPPED_ACCESS_LOG = "/var/log/nginx/groundwork.access.log"


def site_for_loopback(
    site: str,
    *,
    hosts: list[int],
    https_port: int,
    http_port: int,
    certificate: Path,
    key: Path,
    access_log: Path,
) -> str:
    """The shipped site file with the lines an operator changes set for loopback. Each line
    must be found as shipped: a change to the file that would leave this rehearsal testing
    something else fails here."""
    upstreams = " ".join(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in hosts)
    changes = [
        (SHIPPED_HOSTS, upstreams),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        (SHIPPED_CERTIFICATE, str(certificate)),
        (SHIPPED_KEY, str(key)),
        (SHIPPED_ACCESS_LOG, str(access_log)),
    ]
    for shipped, local in changes:
        if site.count(shipped) != 1:
            raise ValueError(f"deploy/nginx/groundwork.conf no longer has {shipped!r} once")
        site = site.replace(shipped, local)
    return site


class Nginx(LoopbackProcess):
    """nginx in front of gunicorn hosts, with the shipped site file; a context manager."""

    def __init__(self, folder: Path, hosts: list[int], https_port: int | None = None) -> None:
        self.program = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(self.program).exists():
            raise ServiceMissing("nginx is not installed (Debian's nginx)")
        self.folder = folder
        self.hosts = hosts
        self.https_port = https_port or free_port()
        self.http_port = free_port()
        self.certificate, self.key = test_certificate(folder / "tls")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    def _write_config(self) -> Path:
        for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.folder / "temp" / temp).mkdir(parents=True, exist_ok=True)
        site = self.folder / "groundwork.conf"
        site.write_text(
            site_for_loopback(
                SITE.read_text(),
                hosts=self.hosts,
                https_port=self.https_port,
                http_port=self.http_port,
                certificate=self.certificate,
                key=self.key,
                access_log=self.access_log,
            )
        )
        temp = self.folder / "temp"
        main = self.folder / "nginx.conf"
        main.write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\npid {self.folder / 'nginx.pid'};\n"
            + f"error_log {self.folder / 'error.log'} warn;\n"
            + "events { worker_connections 256; }\n"
            + "http {\n"
            + f"  client_body_temp_path {temp / 'body'};\n"
            + f"  proxy_temp_path {temp / 'proxy'};\n"
            + f"  fastcgi_temp_path {temp / 'fastcgi'};\n"
            + f"  uwsgi_temp_path {temp / 'uwsgi'};\n"
            + f"  scgi_temp_path {temp / 'scgi'};\n"
            + f"  include {site};\n"
            + "}\n"
        )
        return main

    def start(self) -> Nginx:
        config = self._write_config()
        self.process = subprocess.Popen(  # noqa: S603 - Debian's nginx, our own configuration
            [self.program, "-p", str(self.folder), "-c", str(config), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nginx stopped:\n" + self.error_log())
            try:
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen:\n" + self.error_log())

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""
