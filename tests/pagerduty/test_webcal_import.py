"""PagerDuty's schedule feeds against the roster: drift is found and shown, and a feed that
cannot be read keeps the last good import and says why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from pagerduty.client import PagerDuty
from pagerduty.fake import FakePagerDuty
from pagerduty.models import SyncRun, WebcalImport
from pagerduty.sync import import_feed
from rotation import schedule
from rotation.models import Engineer, Rotation, schedule_of
from tests.conftest import NOW, fake_client, login

pytestmark = pytest.mark.django_db

FEED = "webcal://acme.pagerduty.com/private/secretkey123/feed/PSCHED1"


def pagerduty_feed(shifts: Sequence[tuple[datetime, datetime, str]]) -> str:
    """A feed in PagerDuty's shape (REFERENCE section 7): no DTSTAMP, bare attendee emails."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "X-WR-CALNAME:On Call Schedule for Platform Primary"]
    for number, (start, end, name) in enumerate(shifts):
        lines += [
            "BEGIN:VEVENT",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            f"ATTENDEE:{name.lower()}@example.com",
            f"UID:Q{number:05d}",
            f"SUMMARY:On Call - {name} - Platform Primary",
            "END:VEVENT",
        ]
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


def primaries(rotation: Rotation) -> list[tuple[datetime, datetime, str]]:
    spec = schedule_of(rotation)
    assert spec is not None
    names = dict(Engineer.objects.values_list("email", "name"))
    return [
        (s.start, s.end, names[s.member])
        for s in schedule.shifts_between(spec, NOW - timedelta(days=7), NOW + timedelta(days=100))
        if s.role == schedule.Duty.PRIMARY
    ]


@pytest.fixture
def fake() -> FakePagerDuty:
    return FakePagerDuty(token="test-token")


@pytest.fixture
def linked(platform: Rotation) -> Rotation:
    platform.pagerduty_feeds = {"primary": FEED}
    platform.save()
    return platform


def serve(fake: FakePagerDuty, shifts: Sequence[tuple[datetime, datetime, str]]) -> None:
    fake.add_schedule_feed("secretkey123", "PSCHED1", pagerduty_feed(shifts))


def test_a_feed_that_matches_the_roster_shows_no_drift(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    serve(fake, primaries(linked))
    run = import_feed(linked, "primary", FEED, pagerduty, now=NOW)
    assert run.outcome == SyncRun.Outcome.IN_SYNC
    assert fake.requests[0].url.scheme == "https"  # webcal:// is read over https
    imported = WebcalImport.objects.get()
    assert imported.drift == [] and imported.imported_at == NOW
    assert len(imported.shifts) == len(primaries(linked))


def test_a_week_pagerduty_gives_someone_else_is_drift_with_both_names(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    shifts = primaries(linked)
    start, end, _ = shifts[3]
    shifts[3] = (start, end, "Mallory")
    serve(fake, shifts)
    run = import_feed(linked, "primary", FEED, pagerduty, now=NOW)
    assert run.outcome == SyncRun.Outcome.DRIFT
    (drift,) = WebcalImport.objects.get().drift
    assert drift == {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "portal": primaries(linked)[3][2],
        "pagerduty": "Mallory",
        "hours": 168.0,
    }
    page = login(Client(), "erin").get("/").content.decode()
    assert "differs from the roster</strong> for 1 stretch in the next 90 days" in page
    sync_page = login(Client(), "erin").get("/sync/").content.decode()
    assert "Mallory" in sync_page and "secretkey123" not in sync_page


@pytest.mark.parametrize(
    ("serve_feed", "reason"),
    [
        (lambda fake: fake.fail_next(500, times=10), "500"),
        (
            lambda fake: fake.add_schedule_feed("secretkey123", "PSCHED1", "<html>Log in</html>"),
            "login",
        ),
        (lambda fake: None, "404"),
    ],
)
def test_a_feed_that_cannot_be_read_keeps_the_last_good_import_and_says_why(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty, serve_feed: Any, reason: str
) -> None:
    shifts = primaries(linked)
    shifts[2] = (shifts[2][0], shifts[2][1], "Mallory")
    serve(fake, shifts)
    import_feed(linked, "primary", FEED, pagerduty, now=NOW)
    good = WebcalImport.objects.get()
    fake.schedule_feeds.clear()
    serve_feed(fake)
    later = NOW + timedelta(minutes=30)
    run = import_feed(linked, "primary", FEED, pagerduty, now=later)
    assert run.outcome == SyncRun.Outcome.FAILED
    assert reason in run.error.lower()
    assert "secretkey123" not in run.error
    kept = WebcalImport.objects.get()
    assert (kept.shifts, kept.drift, kept.imported_at) == (good.shifts, good.drift, NOW)
    assert (kept.attempted_at, kept.error) == (later, run.error)


def test_import_webcal_command_reports_drift_and_fails_loudly(
    linked: Rotation, fake: FakePagerDuty, monkeypatch: pytest.MonkeyPatch
) -> None:
    shifts = primaries(linked)
    shifts[1] = (shifts[1][0], shifts[1][1], "Mallory")
    serve(fake, shifts)
    monkeypatch.setattr(
        "pagerduty.management.commands.import_webcal.client_from_settings",
        lambda: fake_client(fake),
    )
    out = StringIO()
    call_command("import_webcal", stdout=out)
    assert "platform primary: Drift found" in out.getvalue()
    assert "PagerDuty Mallory" in out.getvalue()
    fake.fail_next(500, times=10)
    with pytest.raises(CommandError, match="last good import is kept"):
        call_command("import_webcal", stdout=StringIO())


def test_drift_stops_ninety_days_ahead(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    serve(fake, [s for s in primaries(linked) if s[0] < NOW + timedelta(days=30)])
    import_feed(linked, "primary", FEED, pagerduty, now=NOW)
    drift = WebcalImport.objects.get().drift
    assert drift and all(d["pagerduty"] is None for d in drift)
    assert datetime.fromisoformat(drift[-1]["end"]) == NOW + timedelta(days=90)
    assert datetime.fromisoformat(drift[0]["start"]).astimezone(UTC) >= NOW + timedelta(days=28)


@pytest.mark.parametrize(
    ("url", "dns"),
    [
        ("http://127.0.0.1:6379/", {}),
        ("http://169.254.169.254/latest/meta-data/iam/", {}),
        ("https://10.0.0.1/private/secretkey123/feed/PSCHED1", {}),
        (
            "webcal://acme.pagerduty.com/private/secretkey123/feed/PSCHED1",
            {"acme.pagerduty.com": ["127.0.0.1"]},
        ),
    ],
    ids=["loopback", "metadata", "private", "rebound-name"],
)
def test_an_internal_feed_url_is_not_fetched_and_the_last_good_import_is_kept(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty, url: str, dns: dict[str, list[str]]
) -> None:
    """A URL saved before the rule, or a name that now resolves inside the network."""
    serve(fake, primaries(linked))
    import_feed(linked, "primary", FEED, pagerduty, now=NOW)
    good = WebcalImport.objects.get()
    fake.requests.clear()
    fake.dns.update(dns)
    later = NOW + timedelta(minutes=30)
    run = import_feed(linked, "primary", url, pagerduty, now=later)
    assert fake.requests == []
    assert run.outcome == SyncRun.Outcome.FAILED
    assert "Not fetched: " in run.error
    kept = WebcalImport.objects.get()
    assert (kept.shifts, kept.imported_at) == (good.shifts, NOW)
    assert (kept.attempted_at, kept.error) == (later, run.error)


@pytest.mark.parametrize(
    "answer",
    [
        lambda fake: fake.add_schedule_feed("secretkey123", "PSCHED1", "requirepass hunter2\n"),
        lambda fake: fake.add_schedule_feed("secretkey123", "PSCHED1", "BEGIN:VCALENDAR\nhunter2"),
    ],
    ids=["not-a-calendar", "garbled"],
)
def test_what_a_feed_url_answered_never_reaches_the_records_or_the_sync_page(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty, answer: Any
) -> None:
    answer(fake)
    run = import_feed(linked, "primary", FEED, pagerduty, now=NOW)
    assert run.outcome == SyncRun.Outcome.FAILED
    assert "hunter2" not in run.error
    assert "hunter2" not in WebcalImport.objects.get().error
    for name in ("erin", "carol"):
        page = login(Client(), name).get("/sync/").content.decode()
        assert "Failed" in page or "Last read failed" in page
        assert "hunter2" not in page
