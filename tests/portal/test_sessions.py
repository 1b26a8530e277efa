"""Sessions live on the server: logging out ends a session wherever its cookie was copied to, a
password change ends every other session, and expired sessions are cleared by a periodic job."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.jobs import clear_expired_sessions
from portal.schedules import PERIODIC_JOBS
from rotation.models import Engineer, Rotation
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


def test_the_clearing_job_removes_expired_sessions_and_keeps_live_ones(
    cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    signed_in_browser("alice")
    later = frozen_now + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    with time_machine.travel(later, tick=False):
        signed_in_browser("erin")
        assert Session.objects.count() == 2
        summary = clear_expired_sessions()
        assert Session.objects.count() == 1
    assert summary == "1 expired session cleared"


def test_clearing_expired_sessions_is_a_periodic_job() -> None:
    assert "portal.jobs.clear_expired_sessions" in {job.func for job in PERIODIC_JOBS}


def test_a_page_reads_its_session_from_the_shared_cache_not_the_database(
    platform: Rotation,
) -> None:
    # Reading the session row on every page took a quarter of a runbook page's time.
    browser = signed_in_browser("alice")
    browser.get("/me/")
    with CaptureQueriesContext(connection) as queries:
        assert browser.get("/me/").status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]


def test_the_session_cache_is_one_that_every_process_shares() -> None:
    # A cache of each process's own would accept, in the other processes, a session that was
    # logged out of in one (tests/portal/test_sessions.py's first test, across processes).
    backend = settings.CACHES[settings.SESSION_CACHE_ALIAS]["BACKEND"]
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    assert backend in {
        "django.core.cache.backends.redis.RedisCache",  # REDIS_URL: every host
        "django.core.cache.backends.filebased.FileBasedCache",  # one machine
    }
