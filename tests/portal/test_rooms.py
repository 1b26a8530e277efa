"""The rooms' import arrows (DESIGN.md): feeds and pagerduty import rotation, never the reverse,
and not each other; the engine and its rules import nothing from Django."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# room -> the rooms it must not import
FORBIDDEN = {
    "rotation": {"feeds", "pagerduty", "slack_app"},
    "feeds": {"pagerduty", "slack_app"},
    "pagerduty": {"feeds", "slack_app"},
    # Slack is told by incidents (heads-ups, overdue updates), so it never reads them back.
    "slack_app": {"feeds", "pagerduty", "incidents"},
}
PURE = ["rotation/schedule.py", "rotation/stretches.py", "rotation/rules.py"]


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, as dotted names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        # A relative import (level > 0) stays inside its own package, so it crosses no room.
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def top(name: str) -> str:
    return name.split(".", 1)[0]


def modules_of(room: str) -> list[Path]:
    return sorted((ROOT / room).rglob("*.py"))


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_imports_no_room_above_or_beside_it(room: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules_of(room)
        for name in imported(path)
        if top(name) in FORBIDDEN[room]
    }
    assert not wrong


@pytest.mark.parametrize("module", PURE)
def test_the_engine_imports_nothing_from_django(module: str) -> None:
    assert not {name for name in imported(ROOT / module) if top(name) == "django"}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import django.db\n\ndef f():\n    from feeds.models import FeedToken\n")
    assert {top(name) for name in imported(sample)} == {"django", "feeds"}


def test_every_room_has_modules() -> None:
    # A renamed folder would otherwise make the arrows above pass by checking nothing.
    assert all(modules_of(room) for room in FORBIDDEN)


@pytest.mark.parametrize("room", ["rotation", "feeds", "pagerduty", "incidents", "runbooks"])
def test_no_room_imports_the_dashboards_views(room: str) -> None:
    # portal.views gathers every room for the dashboard: importing it would load them all.
    wrong = {
        (path.relative_to(ROOT).as_posix(), name)
        for path in modules_of(room)
        for name in imported(path)
        if name == "portal.views"
    }
    assert wrong == set()
