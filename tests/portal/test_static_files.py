"""Static files in production: collected with content-hashed names, and every page links them.

With STATIC_ROOT set, WhiteNoise's manifest storage answers each ``{% static %}`` name from
the manifest that ``collectstatic`` wrote; a name missing from it raises ValueError with DEBUG
off, which would turn every page that uses it into a 500. These tests collect for real (in a
child process, with the production environment) and render pages against what was collected.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from rotation.models import Rotation
from runbooks import actions as runbook_actions
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
# A {% static %} tag, with the name it asks for when that name is a quoted literal.
STATIC_TAG = re.compile(r"{%\s*static\b(?:\s+(['\"])(?P<name>[^'\"]+)\1)?")
HASHED_CSS = re.compile(r'href="/static/css/portal\.[0-9a-f]{12}\.css"')


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``manage.py collectstatic`` run as the production recipe runs it: STATIC_ROOT set."""
    static_root = tmp_path_factory.mktemp("static_root")
    database = tmp_path_factory.mktemp("database") / "unused.sqlite3"
    env = {
        **os.environ,
        "STATIC_ROOT": str(static_root),
        "DEBUG": "0",
        "SECRET_KEY": "collectstatic-test-key-" + "x" * 40,
        "DATABASE_URL": f"sqlite:///{database}",
    }
    command = [sys.executable, "manage.py", "collectstatic", "--noinput"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return static_root


def manifest_paths(static_root: Path) -> dict[str, str]:
    paths: dict[str, str] = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    return paths


def test_collectstatic_in_production_writes_hashed_files_and_their_manifest(
    collected: Path,
) -> None:
    paths = manifest_paths(collected)
    assert re.fullmatch(r"css/portal\.[0-9a-f]{12}\.css", paths["css/portal.css"])
    assert (collected / paths["css/portal.css"]).is_file()
    assert (collected / (paths["js/portal.js"] + ".gz")).is_file()  # compressed beside it


def test_every_static_name_in_the_templates_was_collected(collected: Path) -> None:
    paths = manifest_paths(collected)
    used: dict[str, str] = {}
    unchecked = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        for tag in STATIC_TAG.finditer(template.read_text()):
            where = f"{template.relative_to(ROOT)}: {tag.group(0)}"
            if tag.group("name") is None:
                unchecked.append(where)  # a name in a variable cannot be checked here
            else:
                used[tag.group("name")] = where
    assert used, "no {% static %} tag found: the pattern is wrong"
    assert not unchecked, f"static names should be literals, to be checked: {unchecked}"
    missing = [where for name, where in used.items() if name not in paths]
    assert not missing, f"not collected, a 500 with DEBUG off: {missing}"


@pytest.fixture
def manifest_storage(settings: Any, collected: Path) -> None:
    settings.STATIC_ROOT = str(collected)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    settings.DEBUG = False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/me/",
        "/rotations/platform/",
        "/calendars/",
        "/sync/",
        "/incidents/",
        "/incidents/new/",
        "/runbooks/",
        "/runbooks/checkout-5xx/",
        "/runbooks/checkout-5xx/edit/",
        "/account/api-token/",
    ],
)
def test_pages_with_debug_off_link_the_collected_files(
    client: Client, platform: Rotation, manifest_storage: None, path: str
) -> None:
    runbook_actions.save_page(
        None, {"title": "Checkout 5xx", "body": "Roll back first."}, base_revision=0, by=None
    )
    login(client, "carol")
    response = client.get(path)
    assert response.status_code == 200
    assert HASHED_CSS.search(response.content.decode())


@pytest.mark.django_db
def test_the_editor_links_the_collected_htmx(
    client: Client, platform: Rotation, manifest_storage: None
) -> None:
    login(client, "erin")
    page = client.get("/runbooks/new/").content.decode()
    assert re.search(r'src="/static/vendor/htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js"', page)


@pytest.mark.django_db
def test_the_login_page_and_the_admin_link_the_collected_files(
    client: Client, platform: Rotation, manifest_storage: None
) -> None:
    assert HASHED_CSS.search(client.get("/login/").content.decode())
    login(client, "carol")
    admin = client.get("/admin/").content.decode()
    assert re.search(r'href="/static/admin/css/base\.[0-9a-f]{12}\.css"', admin)


def test_development_serves_the_source_folders_without_collecting(settings: Any) -> None:
    """The test run has no STATIC_ROOT: one machine needs no collectstatic step."""
    assert settings.STATIC_ROOT is None
    assert settings.WHITENOISE_USE_FINDERS is True
