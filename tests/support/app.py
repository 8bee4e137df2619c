"""A test app's settings, the one way a test changes them, and running its `flask` commands."""

from __future__ import annotations

import os
import secrets

import pytest
from click.testing import Result
from flask import Flask

# Cheap key derivation so the suite is quick; the envelopes record their own cost, and the
# production cost is exercised by `make bench`.
FAST_KEYS = {
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


def settings_for(url: str, **extra: object) -> dict[str, object]:
    """The settings of a test app on the database at `url`, with `extra` on top."""
    return {
        "ENV": "testing",
        "SECRET_KEY": secrets.token_hex(32),
        "LOOKUP_PEPPER": secrets.token_hex(32),
        "DATABASE_URL": url,
        "SECURE_COOKIES": True,
        "BEHIND_TLS": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        **FAST_KEYS,
        **extra,
    }


def with_settings(**changes: object) -> pytest.MarkDecorator:
    """Build this test's app with these settings changed (read by conftest's `settings`)."""
    return pytest.mark.parametrize("settings", [changes], indirect=True, ids=["settings"])


def need(reason: str) -> None:
    """Skip locally with a reason; in CI a missing part is a failure, never a silent skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs this and it is missing: {reason}")
    pytest.skip(reason)


def invoke(app: Flask, *args: str) -> Result:
    """Run `flask <args>` as the `flask` command does: inside an app context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))
