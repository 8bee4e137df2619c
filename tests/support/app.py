"""A test app's settings (with FAST_KEYS, the cheap key derivation), the one way a test changes
them, and running its `flask` commands."""

from __future__ import annotations

import os
import secrets

import pytest
from click.testing import Result
from flask import Flask

# Cheap key derivation so the suite is quick (one definition, shared with the tools that start
# test servers); the envelopes record their own cost, and `make bench` uses the production cost.
from tools.serve import FAST_KEYS

__all__ = ["FAST_KEYS", "invoke", "need", "settings_for", "with_settings"]


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
