"""What views and commands take from the running app's settings, built once per app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app

from intake import crypto, passwords, webhooks
from intake.code_copies import CodeCopies
from intake.db import database
from intake.questionnaire import FormLibrary
from intake.reviews import Rhythm
from intake.staff import SignInPolicy, StaffCrypto
from intake.tries_store import TriesStore
from intake.vault import KeySettings

_EXTENSION = "groundwork.context"
_TRIES = "groundwork.tries"
_CODE_COPIES = "groundwork.code_copies"


@dataclass(frozen=True)
class AppSettings:
    keys: KeySettings
    staff: StaffCrypto
    policy: SignInPolicy
    forms: FormLibrary


def build(config: Mapping[str, Any]) -> AppSettings:
    return AppSettings(
        keys=KeySettings.from_config(config),
        staff=StaffCrypto(
            hasher=passwords.hasher_from(config),
            kdf=crypto.KdfParams(
                config["KDF_ITERATIONS"], config["KDF_MEMORY_KIB"], config["KDF_LANES"]
            ),
        ),
        policy=SignInPolicy(
            failures_before_pause=config["FAILED_SIGN_INS_BEFORE_PAUSE"],
            pause=timedelta(minutes=config["SIGN_IN_PAUSE_MINUTES"]),
        ),
        forms=FormLibrary(),
    )


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = build(app.config)


def _settings() -> AppSettings:
    return current_app.extensions[_EXTENSION]  # type: ignore[no-any-return]


def key_settings() -> KeySettings:
    return _settings().keys


def staff_crypto() -> StaffCrypto:
    return _settings().staff


def sign_in_policy() -> SignInPolicy:
    return _settings().policy


def code_copies() -> CodeCopies:
    """This process's queue of newcomers' return-code copies (made on first use)."""
    copies = current_app.extensions.get(_CODE_COPIES)
    if copies is None:
        copies = current_app.extensions.setdefault(
            _CODE_COPIES, CodeCopies(database().sessions, key_settings())
        )
    return copies  # type: ignore[no-any-return]


def form_library() -> FormLibrary:
    """The forms this organisation publishes, each read once per process."""
    return _settings().forms


def review_rhythm() -> Rhythm:
    """How often this organisation's "are we on track?" reviews are due."""
    config = current_app.config
    return Rhythm(int(config["REVIEW_EVERY_SESSIONS"]), int(config["REVIEW_EVERY_DAYS"]))


def webhook_settings() -> webhooks.SendSettings:
    """How webhooks to partners are sent: how long to wait, which CA to trust beyond the
    system's, and (tests only) whether a private address may be named."""
    config = current_app.config
    return webhooks.SendSettings(
        timeout=float(config.get("WEBHOOK_TIMEOUT") or 15),
        ca_file=config.get("WEBHOOK_CA_FILE"),
        allow_private=bool(config.get("WEBHOOKS_ALLOW_PRIVATE")),
    )


def webhook_secrets_key() -> bytes:
    return crypto.webhook_secrets_key(key_settings().pepper)


def tries_store() -> TriesStore:
    """Where tries at secrets are counted: the rate-limit store, or this process's memory
    while that store does not answer (`intake/tries_store.py`)."""
    store = current_app.extensions.get(_TRIES)
    if store is None:
        from intake.extensions import limiter

        store = current_app.extensions.setdefault(_TRIES, TriesStore(limiter.storage))
    return store  # type: ignore[no-any-return]
