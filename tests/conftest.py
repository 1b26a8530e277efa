"""The cast: alice is on call (primary), bob shadows this week, carol manages, mallory has no access.

Time is frozen at Wednesday 2 December 2026, 09:00 in Los Angeles, in week 1 of the Platform
rotation, whose order is alice, dave, erin (bob, new, enters last after his shadow week).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.test import Client

from pagerduty.client import PagerDuty
from pagerduty.fake import FakePagerDuty
from portal.actions import ensure_managers_group
from portal.models import TopicStamp
from portal.triggers import WATCHED
from rotation.actions import save_roster
from rotation.models import Engineer, Rotation, ShadowBooking

# Playwright's sync API runs an event loop in the test thread; Django's live_server is fine.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

NOW = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # Wednesday 09:00 in Los Angeles
STARTS_ON = date(2026, 11, 24)
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SQLite tests use a file, as the portal does: an in-memory database shared between
    threads fails at once with "table is locked" where a file waits for the lock, so race
    tests could not run their threads at all."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        name = tmp_path_factory.mktemp("database") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture
def frozen_now() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


def make_engineer(name: str, *, staff: bool = False) -> Engineer:
    email = f"{name}@example.com"
    user = User.objects.create_user(email, email, PASSWORD, is_staff=staff)
    return Engineer.objects.create(user=user, name=name.title(), email=email)


def restore_stamps() -> None:
    """A transactional test's flush empties every table, the topic stamps' rows included."""
    for topic in WATCHED:
        TopicStamp.objects.get_or_create(topic=topic)


@pytest.fixture
def cast(db: None, frozen_now: datetime) -> dict[str, Engineer]:
    restore_stamps()
    people = {name: make_engineer(name) for name in ["dave", "alice", "erin", "bob"]}
    people["carol"] = make_engineer("carol", staff=True)
    people["carol"].user.groups.add(ensure_managers_group())  # type: ignore[union-attr]
    User.objects.create_user("mallory", "mallory@example.com", PASSWORD)
    return people


@pytest.fixture
def platform(cast: dict[str, Engineer]) -> Rotation:
    # Week 0 (24 Nov): dave/alice; week 1 (1 Dec, now): alice/erin; bob shadows week 1.
    rotation = Rotation.objects.create(slug="platform", name="Platform", starts_on=STARTS_ON)
    order = [cast["dave"], cast["alice"], cast["erin"], cast["bob"]]
    with time_machine.travel(datetime(2026, 11, 20, tzinfo=UTC), tick=False):
        save_roster(rotation, order, [(cast["bob"], date(2026, 12, 1))], by=None)
    return rotation


def shadowed(rotation: Rotation, engineer: Engineer, week_of: date = date(2026, 12, 1)) -> None:
    """``engineer`` shadows the week of ``week_of`` (this week): new to the rotation, they may go
    on call from the handoff that ends it."""
    ShadowBooking.objects.create(rotation=rotation, engineer=engineer, week_of=week_of)


def login(client: Client, name: str) -> Client:
    # django-axes' backend counts attempts per request, so authenticate() needs one.
    assert client.login(
        request=HttpRequest(),
        username=f"{name}@example.com" if name != "mallory" else name,
        password=PASSWORD,
    )
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: object) -> None:
    # Real hashing costs ~0.3 s a password by design; the tests check behaviour, not cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


# Browser tests drive Debian's Chromium (never a downloaded one): see STACK.md, Browser tests.
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium floods the closed network with requests.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options (--headed, --slowmo, ...) with our Chromium."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def fake_client(fake: FakePagerDuty, token: str = "test-token") -> PagerDuty:
    """The project's client talking to ``fake`` in memory; retries wait no real time."""
    return PagerDuty(
        token,
        "https://api.pagerduty.com",
        transport=fake.transport(),
        sleep=lambda _: None,
        resolve=fake.resolve,
    )


@pytest.fixture
def pagerduty(fake: FakePagerDuty) -> Iterator[PagerDuty]:
    """A client of the test module's ``fake`` PagerDuty."""
    with fake_client(fake) as client:
        yield client
