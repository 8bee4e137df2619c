"""Test-only ways to stop Groundwork half-way through a write, for tests/test_faults.py.

Nothing here is part of the app: the app's code is run as it is, with one function wrapped
in this process only, so a SIGKILL can land at a known point instead of wherever it falls.

- `held_saves_app()` — the app for `gunicorn --pythonpath tests support.faults:held_saves_app()`.
  When the file `<HOLD_DIR>/armed` exists, the next page save to reach it claims it (an atomic
  rename to `holding-<pid>`, holding "client-id section-key"), after its answer has been
  written to the database and before the commit, and then waits to be killed.
- `python tests/support/faults.py keys rotate --admin admin` — `flask keys rotate`, which after
  HOLD_AFTER re-sealed data keys flushes them to the database inside its transaction, writes
  `<HOLD_DIR>/holding-<pid>` and waits to be killed.

Both wait at most HOLD_SECONDS, then carry on as if nothing happened.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

HOLD_DIR = "GROUNDWORK_TEST_HOLD_DIR"
HOLD_AFTER = "GROUNDWORK_TEST_HOLD_AFTER"
HOLD_SECONDS = 120


def _hold(note: str) -> None:
    """Say where we are, then wait for the SIGKILL (bounded)."""
    folder = Path(os.environ[HOLD_DIR])
    claimed = folder / f"holding-{os.getpid()}"
    partial = folder / f"writing-{os.getpid()}"  # not matched by "holding-*" while half-written
    partial.write_text(note)
    partial.rename(claimed)  # appears whole, never half-written
    time.sleep(HOLD_SECONDS)


def held_saves_app() -> Any:
    from intake import vault
    from wsgi import app

    original = vault.save_section
    folder = Path(os.environ[HOLD_DIR])

    def save_section(*args: Any, **kwargs: Any) -> Any:
        answer = original(*args, **kwargs)  # written (flushed), not committed
        try:
            (folder / "armed").rename(folder / f"claimed-{os.getpid()}")
        except FileNotFoundError:
            return answer  # not armed, or another request took it
        _hold(f"{answer.client_id} {answer.section_key}")
        return answer

    vault.save_section = save_section  # type: ignore[assignment]
    return app


def rotate_with_hold() -> None:
    from flask.cli import main

    from intake import vault
    from intake.db import db_session

    original = vault.reseal_for_org
    after = int(os.environ[HOLD_AFTER])
    resealed = 0

    def reseal_for_org(*args: Any, **kwargs: Any) -> None:
        nonlocal resealed
        original(*args, **kwargs)
        resealed += 1
        if resealed == after:
            db_session().flush()  # half the data keys re-sealed, in the open transaction
            _hold(str(resealed))

    vault.reseal_for_org = reseal_for_org  # type: ignore[assignment]
    sys.argv = ["flask", "--app", "intake", *sys.argv[1:]]
    main()


if __name__ == "__main__":
    rotate_with_hold()
