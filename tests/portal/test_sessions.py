"""Sessions live on the server: logging out ends a session wherever its cookie was copied to, and
a password change ends every other session."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from rotation.models import Rotation
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in_browser(name: str) -> Client:
    browser = Client()
    response = browser.post("/login/", {"username": f"{name}@example.com", "password": PASSWORD})
    assert response.status_code == 302
    return browser


def with_cookie_of(browser: Client) -> Client:
    """Another client holding a copy of ``browser``'s session cookie, as a thief would."""
    copy = Client()
    copy.cookies[settings.SESSION_COOKIE_NAME] = browser.cookies[settings.SESSION_COOKIE_NAME].value
    return copy


def test_a_session_cookie_copied_before_logout_is_sent_to_login_after_it(
    platform: Rotation,
) -> None:
    browser = signed_in_browser("alice")
    thief = with_cookie_of(browser)
    assert thief.get("/me/").status_code == 200
    assert browser.post("/logout/").status_code == 302
    response = thief.get("/me/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert thief.get("/api/v1/oncall").status_code == 401


def test_logout_deletes_the_session_on_the_server(platform: Rotation) -> None:
    browser = signed_in_browser("alice")
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=key).exists()
    browser.post("/logout/")
    assert not Session.objects.filter(session_key=key).exists()


def test_changing_the_password_ends_every_other_session(platform: Rotation) -> None:
    browser = signed_in_browser("alice")
    user = User.objects.get(username="alice@example.com")
    user.set_password("another-long-password")
    user.save()
    assert browser.get("/me/").status_code == 302
