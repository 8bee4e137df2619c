"""The parts of Groundwork import downwards only: a blueprint (client, coach, partner, api,
auth) never imports another, and the modules below them never import a blueprint. Shared
things — the questionnaire, the review of answers, consent texts, validators, session slot
names — live below the blueprints (docs/decisions.md, "One owner for each rule")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

INTAKE = Path(__file__).resolve().parent.parent / "intake"
BLUEPRINTS = {"client", "coach", "partner", "api", "auth"}


def imported(path: Path) -> set[str]:
    """Every intake module this file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "intake" or name.startswith("intake.")}


def blueprint_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in BLUEPRINTS else None


def test_no_blueprint_imports_another() -> None:
    crossings = []
    for blueprint in sorted(BLUEPRINTS):
        for path in sorted((INTAKE / blueprint).glob("*.py")):
            for module in imported(path):
                other = blueprint_of(module)
                if other is not None and other != blueprint:
                    crossings.append(f"{path.relative_to(INTAKE)} imports {module}")
    assert crossings == []


def test_modules_below_the_blueprints_never_import_one() -> None:
    upwards = []
    for path in sorted(INTAKE.glob("*.py")):
        if path.name == "__init__.py":
            continue  # the app factory registers the blueprints
        for module in imported(path):
            if blueprint_of(module) is not None:
                upwards.append(f"{path.name} imports {module}")
    assert upwards == []


def test_the_walk_sees_imports_inside_functions_too(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def late():\n    from intake.coach import views\n")
    assert "intake.coach.views" in imported(sample)


def test_templates_compare_with_enums_not_their_values() -> None:
    """`client.status == ClientStatus.DRAFT`, never `== "draft"`: a renamed value then fails
    loudly (an undefined name) instead of silently never matching."""
    compared = re.compile(r"""(==|!=)\s*["'][a-z_]+["']""")
    allowed = {"audience", "code", "card_locale"}  # a template's own arguments, not stored codes
    found = []
    for path in sorted((INTAKE.parent / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in compared.finditer(line):
                before = line[: match.start()].rstrip().split()[-1:] or [""]
                if before[0].split(".")[0].strip("({") not in allowed:
                    found.append(f"{path.name}:{number}: {line.strip()[:80]}")
    assert found == []
