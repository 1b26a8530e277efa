"""Logins are throttled: five wrong passwords for one account from one address lock that pair
out for a cool-off, on the portal's login page and the admin's alike."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from io import StringIO
from typing import ClassVar

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.db import connections
from django.test import Client, RequestFactory

from portal.auth import client_ip
from rotation.models import Engineer
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# alice logs in to the portal; carol, a manager, to the admin too.
DOORS = {
    "portal": ("/login/", "alice@example.com"),
    "admin": ("/admin/login/", "carol@example.com"),
}
LIMIT = 5
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.9"


def attempt(client: Client, door: str, password: str, address: str = ATTACKER) -> int:
    path, username = DOORS[door]
    response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)
    return response.status_code


def fail(client: Client, door: str, times: int = LIMIT, address: str = ATTACKER) -> list[int]:
    return [attempt(client, door, "wrong-password", address) for _ in range(times)]


# The form shows "wrong password" below the limit; the attempt that reaches it is refused.
LOCKING = [200] * (LIMIT - 1) + [429]


def is_signed_in(client: Client) -> bool:
    return client.get("/me/").status_code == 200


@pytest.mark.parametrize("door", DOORS)
def test_the_right_password_after_five_wrong_ones_is_refused_with_the_lockout_page(
    client: Client, cast: dict[str, Engineer], door: str
) -> None:
    assert fail(client, door) == LOCKING
    path, username = DOORS[door]
    response = client.post(path, {"username": username, "password": PASSWORD}, REMOTE_ADDR=ATTACKER)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "On-call portal" in page  # the portal's own page, not a bare message or a traceback
    assert "Traceback" not in page
    assert not is_signed_in(client)


def test_the_lockout_page_says_when_to_try_again(
    client: Client, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    fail(client, "portal")
    page = client.post(
        "/login/", {"username": "alice@example.com", "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    ).content.decode()
    # Frozen at 17:00 UTC (the portal's zone in tests); the cool-off is 15 minutes.
    assert "Try again after 17:15 UTC" in page
    assert "alice@example.com" in page


@pytest.mark.parametrize("door", DOORS)
def test_fewer_failures_than_the_limit_still_let_the_right_password_in(
    client: Client, cast: dict[str, Engineer], door: str
) -> None:
    assert fail(client, door, LIMIT - 1) == [200] * (LIMIT - 1)
    assert attempt(client, door, PASSWORD) == 302
    assert is_signed_in(client)


def test_a_successful_login_starts_the_count_again(
    client: Client, cast: dict[str, Engineer]
) -> None:
    fail(client, "portal", LIMIT - 1)
    assert attempt(client, "portal", PASSWORD) == 302
    client.post("/logout/")
    # Eight failures in all, but never five in a row.
    assert fail(client, "portal", LIMIT - 1) == [200] * (LIMIT - 1)
    assert attempt(client, "portal", PASSWORD) == 302


def test_the_lockout_ends_after_the_cool_off(
    client: Client, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    fail(client, "portal")
    with time_machine.travel(frozen_now + timedelta(minutes=14), tick=False):
        assert attempt(client, "portal", PASSWORD) == 429
    # That refused attempt started the wait again: 15 minutes from it, not from the fifth.
    with time_machine.travel(frozen_now + timedelta(minutes=28), tick=False):
        assert attempt(client, "portal", PASSWORD) == 429
    with time_machine.travel(frozen_now + timedelta(minutes=44), tick=False):
        assert attempt(client, "portal", PASSWORD) == 302
    assert is_signed_in(client)


def test_a_lockout_holds_one_account_from_one_address_only(
    client: Client, cast: dict[str, Engineer]
) -> None:
    # An attacker guessing alice's password cannot lock alice out of the portal from her desk,
    # nor lock out everyone else who shares the attacker's address.
    assert fail(client, "portal", address=ATTACKER) == LOCKING
    assert attempt(client, "portal", PASSWORD, address=OFFICE) == 302
    client.post("/logout/")
    response = client.post(
        "/login/", {"username": "erin@example.com", "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(
    client: Client, cast: dict[str, Engineer]
) -> None:
    # With no proxy configured, X-Forwarded-For is whatever the client says: never trusted.
    statuses = [
        client.post(
            "/login/",
            {"username": "alice@example.com", "password": "wrong-password"},
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        ).status_code
        for number in range(LIMIT)
    ]
    assert statuses == LOCKING
    response = client.post(
        "/login/",
        {"username": "alice@example.com", "password": PASSWORD},
        REMOTE_ADDR=ATTACKER,
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )
    assert response.status_code == 429


def test_behind_the_proxy_each_client_is_locked_by_the_address_the_proxy_saw(
    client: Client, cast: dict[str, Engineer], settings: object
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1  # type: ignore[attr-defined]
    proxy = "10.0.0.2"

    def through_proxy(forwarded_for: str, password: str) -> int:
        response = client.post(
            "/login/",
            {"username": "alice@example.com", "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )
        return response.status_code

    # The attacker forges the left of the header; the proxy appends what it saw on the right.
    statuses = [
        through_proxy(f"192.0.2.{number}, {ATTACKER}", "wrong-password") for number in range(LIMIT)
    ]
    assert statuses == LOCKING
    assert through_proxy(f"192.0.2.99, {ATTACKER}", PASSWORD) == 429
    assert through_proxy(OFFICE, PASSWORD) == 302  # alice at her desk, behind the same proxy


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "", "10.0.0.2"),
        (0, "192.0.2.1", "10.0.0.2"),  # no proxy configured: the header is the client's word
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),
        (1, "  6.6.6.6 ,192.0.2.1  ", "192.0.2.1"),
        (2, "6.6.6.6, 192.0.2.1, 10.0.0.9", "192.0.2.1"),
        (1, "2001:db8::1", "2001:db8::1"),
        (2, "192.0.2.1", "10.0.0.2"),  # fewer entries than proxies: it did not come through them
        (1, "", "10.0.0.2"),
        (1, "not-an-address", "10.0.0.2"),
        (1, "192.0.2.1, 999.1.1.1", "10.0.0.2"),
        (1, "192.0.2.1\x00", "10.0.0.2"),
    ],
)
def test_the_client_address_is_read_as_configured(
    settings: object, proxies: int, forwarded_for: str, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies  # type: ignore[attr-defined]
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.2", **headers)  # type: ignore[arg-type]
    assert client_ip(request) == expected


def test_a_manager_unlocks_an_account_with_axes_reset_username(
    client: Client, cast: dict[str, Engineer]
) -> None:
    fail(client, "portal")
    assert attempt(client, "portal", PASSWORD) == 429
    call_command("axes_reset_username", "alice@example.com", stdout=StringIO())
    assert attempt(client, "portal", PASSWORD) == 302
    assert is_signed_in(client)


def test_hostile_login_input_gets_the_form_again_never_a_500(
    client: Client, cast: dict[str, Engineer]
) -> None:
    for username in ["x" * 10_000, "alice@example.com\x00", "", "' OR 1=1 --"]:
        response = client.post(
            "/login/",
            {"username": username, "password": "p" * 10_000},
            REMOTE_ADDR=ATTACKER,
            HTTP_USER_AGENT="u" * 5_000,
        )
        if "\x00" in username:  # refused before any view (portal/nul.py), saying why
            assert response.status_code == 400
            assert "NUL characters are not allowed" in response.content.decode()
        else:
            assert response.status_code == 200, username[:20]
    assert attempt(client, "portal", PASSWORD) == 302


class SlowCountingHasher(MD5PasswordHasher):
    """The tests' fast hasher, taking the time a real one takes (so attempts overlap as they do
    in production) and noting each password it checks."""

    checked: ClassVar[list[str]] = []

    def verify(self, password: str, encoded: str) -> bool:
        self.checked.append(password)
        time.sleep(0.05)
        return super().verify(password, encoded)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", DOORS)
def test_twenty_guesses_sent_at_once_check_no_more_passwords_than_the_limit(
    cast: dict[str, Engineer], settings: object, door: str
) -> None:
    # Web processes share the counts through the database, and a burst of guesses is taken in
    # turn: twenty sent at the same instant (a barrier) are twenty failures, none lost and none
    # a 500, and only the first five reach the password check before the lockout.
    settings.PASSWORD_HASHERS = ["tests.portal.test_login_throttling.SlowCountingHasher"]  # type: ignore[attr-defined]
    SlowCountingHasher.checked.clear()
    guesses = 20
    barrier = threading.Barrier(guesses)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def guess(number: int) -> None:
        try:
            browser = Client()
            barrier.wait(timeout=30)
            statuses.append(attempt(browser, door, f"guess-{number}"))
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(statuses) == [200] * (LIMIT - 1) + [429] * (guesses - LIMIT + 1)
    assert len(SlowCountingHasher.checked) == LIMIT
    counted = AccessAttempt.objects.filter(username=DOORS[door][1], ip_address=ATTACKER)
    assert sum(counted.values_list("failures_since_start", flat=True)) == guesses
    assert attempt(Client(), door, PASSWORD) == 429
    assert len(SlowCountingHasher.checked) == LIMIT
