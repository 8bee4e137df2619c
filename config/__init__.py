"""How Groundwork's settings are loaded: defaults, then the instance folder, then the environment.

1. `config/defaults.py`;
2. `<instance folder>/groundwork.cfg`, if present (Python syntax, like the defaults);
3. in development only, `<instance folder>/secrets.cfg`, made on first start;
4. environment variables: `GROUNDWORK_<NAME>` for any setting (JSON values are parsed), and
   `DATABASE_URL` on its own as most hosts set it;
5. explicit overrides passed to `create_app` (tests).

Production refuses to start without SECRET_KEY and LOOKUP_PEPPER, without PUBLIC_URL, on SQLite
unless HOSTS = 1 says one host is intended, and with a per-process rate-limit store when HOSTS
says there are several.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Config

from config import defaults

MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_hex(32))"'  # noqa: S105
REQUIRED_SECRETS = ("SECRET_KEY", "LOOKUP_PEPPER")
ENVIRONMENTS = ("production", "development", "testing")


class ConfigurationError(SystemExit):
    """Groundwork cannot start with this configuration.

    A SystemExit, so that `flask`, gunicorn and `python wsgi.py` all stop with the message
    and a non-zero status instead of a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load(config: Config, instance_path: str, overrides: Mapping[str, Any] | None) -> None:
    """Fill `config` in the order described in this module's docstring."""
    config.from_object(defaults)
    config.from_pyfile(os.path.join(instance_path, "groundwork.cfg"), silent=True)
    env_first = _environment_settings()
    env = (overrides or {}).get("ENV") or env_first.get("ENV") or config["ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigurationError(
            f"Groundwork will not start: ENV is {env!r}; use one of {', '.join(ENVIRONMENTS)}."
        )
    if env == "development":
        _apply_development(config, instance_path)
    config.update(env_first)
    config.update(overrides or {})
    config["ENV"] = env
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = "sqlite:///" + os.path.join(instance_path, "groundwork.sqlite")
    check(config)


def _environment_settings() -> dict[str, Any]:
    scratch = Config(root_path=".")
    scratch.from_prefixed_env("GROUNDWORK")
    settings = dict(scratch)
    if os.environ.get("DATABASE_URL") and "DATABASE_URL" not in settings:
        settings["DATABASE_URL"] = os.environ["DATABASE_URL"]
    return settings


def _apply_development(config: Config, instance_path: str) -> None:
    """Development runs on http://127.0.0.1 with secrets it makes for itself, once."""
    config.update(SECURE_COOKIES=False, BEHIND_TLS=False)
    secrets_file = Path(instance_path) / "secrets.cfg"
    if not secrets_file.exists():
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        lines = [f'{name} = "{secrets.token_hex(32)}"' for name in REQUIRED_SECRETS]
        secrets_file.touch(mode=0o600)
        secrets_file.write_text(
            "# Development secrets, made by Groundwork on first start. Not for production.\n"
            + "\n".join(lines)
            + "\n"
        )
        print(f"Groundwork made development secrets in {secrets_file}", file=sys.stderr)
    config.from_pyfile(str(secrets_file))


def check(config: Config) -> None:
    """Refuse to start without the secrets, naming each one that is missing."""
    problems = []
    for name in REQUIRED_SECRETS:
        value = config.get(name)
        if not value:
            problems.append(f"{name} is not set.")
        elif len(str(value)) < 32:
            problems.append(f"{name} is too short: use at least 32 hex characters.")
    pepper = config.get("LOOKUP_PEPPER")
    if pepper:
        try:
            bytes.fromhex(str(pepper))
        except ValueError:
            problems.append("LOOKUP_PEPPER is not hex.")
    problems.extend(_public_url_problems(config))
    problems.extend(_hosts_problems(config))
    if config.get("ENV") == "production" and config.get("WEBHOOKS_ALLOW_PRIVATE"):
        problems.append(
            "WEBHOOKS_ALLOW_PRIVATE is on: a partner could make Groundwork call into your own "
            "network. It is for tests only; remove it."
        )
    if problems:
        raise ConfigurationError(
            "Groundwork will not start:\n  "
            + "\n  ".join(problems)
            + f"\nMake a secret with:\n  {MAKE_A_SECRET}\n"
            "and set it as GROUNDWORK_<NAME> in the environment, or in "
            "<instance folder>/groundwork.cfg."
        )


def runs_on_sqlite(config: Mapping[str, Any]) -> bool:
    return str(config.get("DATABASE_URL") or "").startswith("sqlite")


def _hosts_problems(config: Config) -> list[str]:
    """Production on several hosts needs one database server and one shared count of tries;
    SQLite is for one host, and only when the operator says so."""
    if config.get("ENV") != "production":
        return []
    hosts = config.get("HOSTS")
    if hosts is not None and (isinstance(hosts, bool) or not isinstance(hosts, int) or hosts < 1):
        return ["HOSTS is not a whole number of hosts: use 1, 2, 3 …"]
    if runs_on_sqlite(config) and hosts != 1:
        return [
            "DATABASE_URL is not set, or names a SQLite file: on more than one host each would "
            "keep a file of its own. Set DATABASE_URL to your PostgreSQL server, or set "
            "HOSTS = 1 if Groundwork runs on this one host only."
        ]
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if hosts is not None and hosts > 1 and storage.startswith("memory"):
        return [
            f"RATELIMIT_STORAGE_URI is {storage}, but HOSTS is {hosts}: each host would count "
            "tries apart, so a guesser would get a full allowance on each. Use a shared store, "
            "like redis://localhost:6379/0."
        ]
    return []


def _public_url_problems(config: Config) -> list[str]:
    """PUBLIC_URL, if set, is the address people open: printed on referral cards and in invite
    links, so a mistake in it would send people nowhere."""
    value = config.get("PUBLIC_URL")
    example = "Use the address people open, like https://forms.example.org"
    if not value:
        if config.get("ENV") == "production":
            # Links in invitations, referral cards and the partner API are built on it, never
            # on the Host header a request happens to carry.
            return [f"PUBLIC_URL is not set. {example}"]
        return []
    try:
        parts = urlsplit(str(value))
    except ValueError:
        return [f"PUBLIC_URL is not a web address. {example}"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"PUBLIC_URL is not a web address. {example}"]
    if parts.query or parts.fragment or parts.username or parts.password:
        return [f"PUBLIC_URL has more than an address in it. {example}"]
    if config.get("ENV") == "production" and parts.scheme != "https":
        return [f"PUBLIC_URL starts with http:// in production. {example}"]
    return []
