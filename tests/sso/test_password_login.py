"""PASSWORD_LOGIN off: only the provider signs people in, on the portal and the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.test import Client

from rotation.models import Engineer
from tests.conftest import PASSWORD, make_engineer, restore_stamps

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db: None) -> Engineer:
    restore_stamps()
    return make_engineer("alice", staff=True)


@pytest.fixture
def passwords_off(settings: object, sso: str) -> None:
    settings.PASSWORD_LOGIN = False  # type: ignore[attr-defined]


def test_the_login_page_shows_only_the_provider(client: Client, passwords_off: None) -> None:
    page = client.get("/login/").content.decode()
    assert "Sign in with Test Identity" in page
    assert 'name="password"' not in page


def test_a_password_post_is_refused(client: Client, alice: Engineer, passwords_off: None) -> None:
    response = client.post("/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert "Password login is turned off" in response.content.decode()
    assert client.get("/me/").status_code == 302  # still logged out


def test_the_admin_refuses_passwords_too(
    client: Client, alice: Engineer, passwords_off: None
) -> None:
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "alice@example.com", "password": PASSWORD}
    )
    assert "Password login is turned off" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_no_password_is_checked_anywhere(alice: Engineer, passwords_off: None) -> None:
    user = authenticate(HttpRequest(), username="alice@example.com", password=PASSWORD)
    assert user is None


def test_passwords_work_while_on(client: Client, alice: Engineer, sso: str) -> None:
    response = client.post("/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/me/").status_code == 200
