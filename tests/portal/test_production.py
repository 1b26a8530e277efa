"""PORTAL_ENV=production: `check --deploy` finds nothing with the README's production
environment, the portal refuses to start without what only the operator can give, and the
settings it turns on do what they promise (HTTPS only but for /healthz, HSTS, secure cookies).
"""

from __future__ import annotations

import re
import runpy
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.processes import ROOT, run_manage

pytestmark = pytest.mark.django_db

# The README's "Production settings" example, with a key and database of this test's own.
PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "oncall.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://oncall.example.com",
    "TRUST_X_FORWARDED_PROTO": "1",
    "EMAIL_URL": "smtp://mail.example.com:587",
}
SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
]


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    return {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}"}


def readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"\n### {title}\n")
    end = readme.find("\n#", start + len(title) + 6)
    return readme[start : end if end > 0 else None]


def test_check_deploy_finds_nothing_in_the_documented_production_environment(
    production: dict[str, str],
) -> None:
    done = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_the_readme_documents_every_variable_the_settings_read() -> None:
    source = (ROOT / "portal" / "settings.py").read_text()
    read = set(
        re.findall(r"""(?:environ\.get|environ\[|env_flag|env_list)\(?["']([A-Z_]+)["']""", source)
    )
    assert read >= set(PRODUCTION) | {"DATABASE_URL", "SECURE_HSTS_SECONDS"}
    readme = (ROOT / "README.md").read_text()
    assert {name for name in read if f"`{name}`" not in readme} == set()
    section = readme_section("Production settings")
    assert {name for name in PRODUCTION if f"{name}=" not in section} == set()


@pytest.mark.parametrize(
    ("leave_out", "message"),
    [
        ("SECRET_KEY", "PORTAL_ENV=production needs SECRET_KEY in the environment"),
        ("ALLOWED_HOSTS", "PORTAL_ENV=production needs ALLOWED_HOSTS in the environment"),
    ],
)
def test_production_refuses_to_start_without_what_only_the_operator_knows(
    production: dict[str, str], leave_out: str, message: str
) -> None:
    del production[leave_out]
    done = run_manage("check", env=production)
    assert done.returncode != 0
    assert message in done.stderr


def test_production_refuses_to_start_in_debug(production: dict[str, str]) -> None:
    done = run_manage("check", env={**production, "DEBUG": "1"})
    assert done.returncode != 0
    assert "PORTAL_ENV=production runs with DEBUG off: unset DEBUG." in done.stderr


def test_a_mistyped_portal_env_is_refused_not_taken_for_development(
    production: dict[str, str],
) -> None:
    done = run_manage("check", env={**production, "PORTAL_ENV": "prod"})
    assert done.returncode != 0
    assert "PORTAL_ENV is 'development' or 'production', not 'prod'" in done.stderr


# What the production settings do, applied to this test process --------------------------------


def production_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, Any]:
    """The settings module's names, as a process started with ``env`` would have them."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "portal" / "settings.py"))


@pytest.fixture
def secured(monkeypatch: pytest.MonkeyPatch, settings: Any, production: dict[str, str]) -> None:
    """This process's settings, with the security settings production would have."""
    loaded = production_settings(monkeypatch, production)
    for name in SECURITY_SETTINGS:
        setattr(settings, name, loaded[name])


def test_plain_http_is_sent_to_https(client: Client, secured: None) -> None:
    response = client.get("/login/?next=/me/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/?next=/me/"


def test_the_health_check_answers_over_plain_http(client: Client, secured: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response


def test_https_from_the_proxy_gets_hsts_and_secure_cookies(client: Client, secured: None) -> None:
    response = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response.cookies["csrftoken"]["secure"] is True
    assert django_settings.SESSION_COOKIE_SECURE is True


def test_x_forwarded_proto_is_ignored_unless_trusted(
    client: Client, monkeypatch: pytest.MonkeyPatch, settings: Any, production: dict[str, str]
) -> None:
    del production["TRUST_X_FORWARDED_PROTO"]
    monkeypatch.delenv("TRUST_X_FORWARDED_PROTO", raising=False)
    loaded = production_settings(monkeypatch, production)
    assert "SECURE_PROXY_SSL_HEADER" not in loaded
    settings.SECURE_SSL_REDIRECT = loaded["SECURE_SSL_REDIRECT"]
    response = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 301
