"""How Groundwork starts: production refuses to run without its secrets and says how to make
them; development makes its own, once; settings come from defaults, then the instance folder,
then the environment (DESIGN.md §11).

Each start is a real `python -c "from intake import create_app; create_app()"` in a
subprocess with a clean environment, the way gunicorn or `flask` would start it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START = "from intake import create_app; create_app()"
SHOW = """
import json
from flask import render_template
from intake import create_app

app = create_app()
with app.test_request_context("/"):
    page = render_template("errors/page.html", heading="Hello", message="", audience="client")
names = ("ENV", "SECRET_KEY", "LOOKUP_PEPPER", "CLIENT_SITE_NAME", "STAFF_SITE_NAME")
print(json.dumps({name: app.config[name] for name in names} | {"page": page}))
"""


def start(
    instance: Path, env: str | None = "production", code: str = START, **settings: str
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if env is not None:
        environment["GROUNDWORK_ENV"] = env
    environment["GROUNDWORK_INSTANCE_PATH"] = str(instance)
    if env == "production":
        settings = {"PUBLIC_URL": "https://forms.example.org", "HOSTS": "1", **settings}
    for name, value in settings.items():
        if value == "":
            continue  # a setting left out
        environment[f"GROUNDWORK_{name}"] = value
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


def a_secret() -> str:
    return secrets.token_hex(32)


def test_production_without_its_public_address_refuses_and_says_so(instance: Path) -> None:
    result = start(instance, SECRET_KEY=a_secret(), LOOKUP_PEPPER=a_secret(), PUBLIC_URL="")
    assert result.returncode != 0
    assert "PUBLIC_URL is not set" in result.stderr
    assert "https://forms.example.org" in result.stderr


def test_production_without_secrets_refuses_and_says_how_to_make_them(instance: Path) -> None:
    result = start(instance)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "LOOKUP_PEPPER" in result.stderr
    assert "Traceback" not in result.stderr, "the operator should see a message, not a crash"
    assert 'python -c "import secrets; print(secrets.token_hex(32))"' in result.stderr


def test_the_command_it_shows_makes_a_secret_it_accepts(instance: Path) -> None:
    refusal = start(instance).stderr
    command = re.search(r"^\s*(python .+)$", refusal, re.MULTILINE)
    assert command, refusal
    argv = shlex.split(command.group(1))
    assert argv[0] == "python"

    made = [
        subprocess.run(
            [sys.executable, *argv[1:]], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]

    assert made[0] != made[1]
    result = start(instance, SECRET_KEY=made[0], LOOKUP_PEPPER=made[1])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("given", "missing"), [("SECRET_KEY", "LOOKUP_PEPPER"), ("LOOKUP_PEPPER", "SECRET_KEY")]
)
def test_with_one_secret_missing_it_names_only_that_one(
    instance: Path, given: str, missing: str
) -> None:
    result = start(instance, **{given: a_secret()})

    assert result.returncode != 0
    assert missing in result.stderr
    assert given not in result.stderr


def test_a_short_secret_key_is_refused(instance: Path) -> None:
    result = start(instance, SECRET_KEY="changeme", LOOKUP_PEPPER=a_secret())

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "short" in result.stderr


def test_a_pepper_that_is_not_hex_is_refused(instance: Path) -> None:
    result = start(instance, SECRET_KEY=a_secret(), LOOKUP_PEPPER="z" * 64)

    assert result.returncode != 0
    assert "LOOKUP_PEPPER" in result.stderr
    assert "SECRET_KEY" not in result.stderr


def test_production_with_both_secrets_starts(instance: Path) -> None:
    secret_key, pepper = a_secret(), a_secret()
    result = start(instance, code=SHOW, SECRET_KEY=secret_key, LOOKUP_PEPPER=pepper)

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["ENV"] == "production"
    assert shown["SECRET_KEY"] == secret_key
    assert shown["LOOKUP_PEPPER"] == pepper
    # On SQLite with HOSTS = 1 it says, once, that it runs on one host; nothing else.
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Groundwork runs on one host (HOSTS = 1), with its data in a SQLite file." in (
        result.stderr
    )


def test_gunicorn_entry_point_refuses_without_secrets_and_starts_with_them(
    instance: Path,
) -> None:
    """`gunicorn wsgi:app` imports wsgi.py: the same refusal, the same message."""
    refused = start(instance, code="import wsgi")
    started = start(
        instance,
        code="import wsgi; print(wsgi.app.config['ENV'])",
        SECRET_KEY=a_secret(),
        LOOKUP_PEPPER=a_secret(),
    )

    assert refused.returncode != 0
    assert "SECRET_KEY" in refused.stderr
    assert "LOOKUP_PEPPER" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "production"


def test_production_reads_its_secrets_from_the_instance_folder(instance: Path) -> None:
    instance.mkdir()
    secret_key, pepper = a_secret(), a_secret()
    (instance / "groundwork.cfg").write_text(
        f'SECRET_KEY = "{secret_key}"\nLOOKUP_PEPPER = "{pepper}"\n'
    )

    result = start(instance, code=SHOW)

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["SECRET_KEY"], shown["LOOKUP_PEPPER"]) == (secret_key, pepper)


def test_production_never_makes_secrets_of_its_own(instance: Path) -> None:
    start(instance)

    assert not (instance / "secrets.cfg").exists()


def test_production_is_the_default(instance: Path) -> None:
    result = start(instance, env=None)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert not (instance / "secrets.cfg").exists()


def test_development_makes_its_secrets_once_and_keeps_them(instance: Path) -> None:
    first = start(instance, env="development", code=SHOW)

    assert first.returncode == 0, first.stderr
    secrets_file = instance / "secrets.cfg"
    assert secrets_file.exists()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert "secrets.cfg" in first.stderr
    made = json.loads(first.stdout)
    assert len(made["SECRET_KEY"]) >= 32
    bytes.fromhex(made["LOOKUP_PEPPER"])
    assert made["SECRET_KEY"] != made["LOOKUP_PEPPER"]
    assert made["SECRET_KEY"] in secrets_file.read_text()
    content = secrets_file.read_text()

    second = start(instance, env="development", code=SHOW)

    assert second.returncode == 0, second.stderr
    assert "secrets.cfg" not in second.stderr
    assert second.stderr == ""
    kept = json.loads(second.stdout)
    assert (kept["SECRET_KEY"], kept["LOOKUP_PEPPER"]) == (
        made["SECRET_KEY"],
        made["LOOKUP_PEPPER"],
    )
    assert secrets_file.read_text() == content
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600


def test_development_secrets_are_private_whatever_the_umask(instance: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", START],
        cwd=PROJECT_ROOT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GROUNDWORK_ENV": "development",
            "GROUNDWORK_INSTANCE_PATH": str(instance),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        umask=0,
    )

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((instance / "secrets.cfg").stat().st_mode) == 0o600


def test_two_development_instances_get_different_secrets(tmp_path: Path) -> None:
    one = json.loads(start(tmp_path / "one", env="development", code=SHOW).stdout)
    two = json.loads(start(tmp_path / "two", env="development", code=SHOW).stdout)

    assert one["SECRET_KEY"] != two["SECRET_KEY"]
    assert one["LOOKUP_PEPPER"] != two["LOOKUP_PEPPER"]


def test_environment_overrides_instance_file_which_overrides_defaults(instance: Path) -> None:
    instance.mkdir()
    secret_key, pepper = a_secret(), a_secret()
    (instance / "groundwork.cfg").write_text(
        f'SECRET_KEY = "{secret_key}"\nLOOKUP_PEPPER = "{pepper}"\n'
        'CLIENT_SITE_NAME = "Forms from the file"\n'
        'STAFF_SITE_NAME = "Staff from the file"\n'
    )

    defaults_only = json.loads(
        start(
            instance.parent / "empty", code=SHOW, SECRET_KEY=secret_key, LOOKUP_PEPPER=pepper
        ).stdout
    )
    from_file = json.loads(start(instance, code=SHOW).stdout)
    from_env = json.loads(start(instance, code=SHOW, CLIENT_SITE_NAME="Forms from the env").stdout)

    assert defaults_only["CLIENT_SITE_NAME"] is None  # "Forms", in the person's language
    assert "<title>Hello – Forms</title>" in defaults_only["page"]
    assert from_file["CLIENT_SITE_NAME"] == "Forms from the file"
    assert "<title>Hello – Forms from the file</title>" in from_file["page"]
    assert from_env["CLIENT_SITE_NAME"] == "Forms from the env"
    assert "<title>Hello – Forms from the env</title>" in from_env["page"]
    assert from_env["STAFF_SITE_NAME"] == "Staff from the file", "the env changed only one"


def test_an_environment_value_is_read_as_json_when_it_is_json(instance: Path) -> None:
    code = (
        "from intake import create_app; app = create_app(); "
        "print(repr(app.config['INVITE_DAYS']), repr(app.config['SHIPPED_LOCALES']))"
    )
    result = start(
        instance,
        code=code,
        SECRET_KEY=a_secret(),
        LOOKUP_PEPPER=a_secret(),
        INVITE_DAYS="3",
        SHIPPED_LOCALES='["en", "fr"]',
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3 ['en', 'fr']"


@pytest.mark.parametrize("env", ["staging", "Production"])
def test_an_unknown_environment_is_refused(instance: Path, env: str) -> None:
    result = start(instance, env=env, SECRET_KEY=a_secret(), LOOKUP_PEPPER=a_secret())

    assert result.returncode != 0
    assert repr(env) in result.stderr
    assert "production" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (instance / "secrets.cfg").exists()


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path) -> None:
    """Another account on the server cannot copy the database file."""
    import secrets as random

    from intake import create_app
    from intake.cli import upgrade_database
    from intake.db import database

    path = tmp_path / "groundwork.sqlite"
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": random.token_hex(32),
            "LOOKUP_PEPPER": random.token_hex(32),
            "DATABASE_URL": f"sqlite:///{path}",
        },
        instance_path=str(tmp_path),
    )
    upgrade_database(app)
    database(app).engine.dispose()
    assert path.stat().st_mode & 0o077 == 0


# --- one host or several ------------------------------------------------------------------


def test_production_on_sqlite_refuses_unless_one_host_is_intended(instance: Path) -> None:
    secrets_ = {"SECRET_KEY": a_secret(), "LOOKUP_PEPPER": a_secret()}
    refused = start(instance, HOSTS="", **secrets_)
    assert refused.returncode != 0
    assert "DATABASE_URL is not set, or names a SQLite file" in refused.stderr
    assert "HOSTS = 1" in refused.stderr
    assert "Traceback" not in refused.stderr
    two = start(instance, HOSTS="2", **secrets_)
    assert two.returncode != 0
    assert "names a SQLite file" in two.stderr
    one = start(instance, HOSTS="1", **secrets_)
    assert one.returncode == 0, one.stderr
    assert "runs on one host" in one.stderr


def test_several_hosts_refuse_a_rate_limit_count_of_their_own(instance: Path) -> None:
    on_postgres = {
        "SECRET_KEY": a_secret(),
        "LOOKUP_PEPPER": a_secret(),
        # Never connected to: create_app only reads the address.
        "DATABASE_URL": "postgresql+psycopg://groundwork@127.0.0.1:1/groundwork",
    }
    refused = start(instance, HOSTS="2", **on_postgres)
    assert refused.returncode != 0
    assert "RATELIMIT_STORAGE_URI is memory://, but HOSTS is 2" in refused.stderr
    shared = start(
        instance, HOSTS="2", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", **on_postgres
    )
    assert shared.returncode == 0, shared.stderr
    assert "one host" not in shared.stderr
    nonsense = start(instance, HOSTS='"two"', **on_postgres)
    assert "HOSTS is not a whole number" in nonsense.stderr


def test_production_refuses_to_let_webhooks_reach_a_private_network(instance: Path) -> None:
    """The tests' allowance to send webhooks to loopback can never reach production: a partner
    would make Groundwork call into the operator's own network."""
    result = start(
        instance, SECRET_KEY=a_secret(), LOOKUP_PEPPER=a_secret(), WEBHOOKS_ALLOW_PRIVATE="true"
    )
    assert result.returncode != 0
    assert "WEBHOOKS_ALLOW_PRIVATE is on" in result.stderr
    assert "Traceback" not in result.stderr
