"""A web worker starts without what only an operator's command, an admin's upload or a page
with a QR code needs: Alembic (with Mako and Pygments), pyxform, textstat and segno are loaded
when those run, never at start, so each worker's memory stays under its budget
(docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.app import settings_for

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOT_AT_START = ("alembic", "mako", "pygments", "pyxform", "textstat", "segno")


def test_a_worker_starts_without_the_tools_only_commands_and_uploads_need(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'lean.sqlite'}")
    script = (
        "import json, sys\n"
        "from intake import create_app\n"
        "app = create_app(json.loads(sys.argv[1]))\n"
        "app.test_client().get('/')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script, json.dumps(settings)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    modules = set(json.loads(loaded.stdout.strip().splitlines()[-1]))
    assert "flask" in modules, "the app itself was loaded"
    assert modules.isdisjoint(NOT_AT_START), sorted(modules & set(NOT_AT_START))
