"""The files an operator copies onto their hosts (deploy/) name things that exist: each timer
has its service, each service runs a real `flask` command, and the app's service starts the
app gunicorn serves. The nginx site file is run for real by tests/test_rehearsal.py."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
JOBS = sorted(UNITS.glob("groundwork-*.service"))


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def test_every_regular_job_in_the_docs_has_a_service_and_a_timer() -> None:
    names = {path.stem for path in JOBS}
    assert names == {
        "groundwork-sessions-purge",
        "groundwork-retention",
        "groundwork-audit-verify",
        "groundwork-consent-verify",
        "groundwork-notices",
    }
    for name in names:
        timer = unit(UNITS / f"{name}.timer")
        assert timer["Timer"]["OnCalendar"] in ("minutely", "hourly", "daily")
        assert timer["Timer"]["Persistent"] == "true"
        assert timer["Install"]["WantedBy"] == "timers.target"
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    for command in (
        "sessions purge",
        "retention run",
        "audit verify",
        "consent verify",
        "notices send",
    ):
        assert f"flask {command}" in deployment


@pytest.mark.parametrize("service", JOBS, ids=[path.stem for path in JOBS])
def test_each_job_runs_a_flask_command_that_exists(service: Path, tmp_path: Path) -> None:
    exec_start = shlex.split(unit(service)["Service"]["ExecStart"])
    assert exec_start[0] == "/srv/groundwork/.venv/bin/flask"
    assert exec_start[1:3] == ["--app", "intake"]
    helped = subprocess.run(
        [sys.executable, "-m", "flask", *exec_start[1:], "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "GROUNDWORK_ENV": "development",
             "GROUNDWORK_INSTANCE_PATH": str(tmp_path)},
    )  # fmt: skip
    assert helped.returncode == 0, helped.stderr


def test_the_app_service_runs_gunicorn_on_the_wsgi_app_as_its_own_user() -> None:
    service = unit(UNITS / "groundwork.service")["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/gunicorn")
    assert command[-1] == "wsgi:app"
    assert (ROOT / "wsgi.py").exists()
    assert service["User"] == "groundwork"
    assert service["NoNewPrivileges"] == "yes"
    assert service["EnvironmentFile"] == "/etc/groundwork/env"
