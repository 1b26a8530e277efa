"""The on-call SLO: pages acknowledged within the target, escalated to the secondary and out of
hours, per week and per person, equal the figures worked out by hand for a seeded set of
PagerDuty incidents imported through the fake; and the escalation page shows the path as
PagerDuty has it, or the last good read when PagerDuty is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from handoff.summary import PagesLine, summary_markdown, week_summary
from pagerduty import escalation
from pagerduty.client import PagerDuty
from pagerduty.fake import FakePagerDuty
from pagerduty.incident_import import import_rotation_incidents
from pagerduty.models import AcknowledgeTarget, SyncRun
from pagerduty.slo import Figures, Page, figures_of, median, on_call_slo, p90
from pagerduty.sync import sync_policy
from rotation.models import Engineer, Rotation
from rotation.schedule import Duty
from rotation.stretches import Stretch
from tests.conftest import NOW, fake_client, login
from tests.pagerduty.conftest import POLICY

MINUTE = timedelta(minutes=1)
SERVICE = "PSVC001"
LA = ZoneInfo("America/Los_Angeles")


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# The seeded set. Week 0 (Tue 24 Nov 10:00 LA = 18:00 UTC to 1 Dec): dave primary, alice
# secondary. Week 1 (from Tue 1 Dec 18:00 UTC; now is Wed 2 Dec 17:00 UTC): alice, then erin.
# Los Angeles is UTC-8. Each line: id, created, acknowledged after, resolved after, urgency.
SEEDED: list[tuple[str, datetime, timedelta | None, timedelta | None, str]] = [
    # week 0, dave
    ("PSLO1", utc(25, 18), 2 * MINUTE, 30 * MINUTE, "high"),  # Wed 10:00 LA: in hours, on time
    ("PSLO2", utc(26, 7), 7 * MINUTE, 60 * MINUTE, "high"),  # Wed 23:00 LA: late, escalated
    ("PSLO3", utc(28, 20), 4 * MINUTE, None, "high"),  # Sat 12:00 LA: weekend, on time
    ("PSLO4", utc(30, 17, 30), None, 3 * MINUTE, "high"),  # Mon 09:30 LA: resolved, no ack
    ("PSLO5", utc(30, 20), 20 * MINUTE, None, "low"),  # low urgency: not a page (not linked)
    # week 1, alice
    ("PSLO6", utc(1, 19, month=12), 1 * MINUTE, None, "high"),  # Tue 11:00 LA, on time
    ("PSLO7", utc(2, 10, month=12), None, None, "high"),  # Wed 02:00 LA: unanswered, escalated
    ("PSLO8", utc(2, 16, month=12), 10 * MINUTE, None, "high"),  # Wed 08:00 LA: late
]
# By hand. Week 0: 4 pages; within 5 min: PSLO1 (2 min), PSLO3 (4 min) = 2, 50%; escalated:
# PSLO2; out of hours: PSLO2 (23:00), PSLO3 (Saturday); times 2, 4, 7 min: median 4, the 90th
# percentile is the ceil(0.9 * 3) = 3rd: 7 min.
WEEK_0 = Figures(4, 2, 1, 2, 4 * MINUTE, 7 * MINUTE)
# Week 1: 3 pages; within: PSLO6 = 1, 33%; escalated: PSLO7, PSLO8; out of hours: PSLO7 (02:00),
# PSLO8 (08:00); times 1 and 10 min: median 5.5 min, 90th percentile the 2nd: 10 min.
WEEK_1 = Figures(3, 1, 2, 2, timedelta(minutes=5, seconds=30), 10 * MINUTE)


@pytest.fixture
def fake(cast: dict[str, Engineer]) -> FakePagerDuty:
    fake = FakePagerDuty(token="test-token")
    for name in ("dave", "alice", "erin", "bob"):
        fake.add_user(name.title(), f"{name}@example.com", f"P{name.upper()}")
        cast[name].pagerduty_user_id = f"P{name.upper()}"
        cast[name].save()
    fake.add_user("Head of Ops", "ops@example.com", "POPSHEAD")
    policy = fake.add_escalation_policy(
        POLICY, "Platform On-Call", [["PALICE"], ["PERIN"], ["POPSHEAD"]], delay_minutes=5
    )
    policy["services"] = [{"id": SERVICE, "type": "service_reference"}]
    return fake


@pytest.fixture
def seeded(linked: Rotation, fake: FakePagerDuty) -> Rotation:
    """The seeded incidents, imported through the fake as the job does."""
    primaries = {"PSLO6": "PALICE", "PSLO7": "", "PSLO8": "PALICE"}
    for pd_id, created, ack, resolved, urgency in SEEDED:
        fake.add_incident(
            pd_id, f"Incident {pd_id}", SERVICE, created, urgency=urgency,
            acknowledged_at=created + ack if ack else None,
            resolved_at=created + resolved if resolved else None,
            acknowledged_by=primaries.get(pd_id, "PDAVE") or None, now=NOW,
        )  # fmt: skip
    with fake_client(fake) as client:
        state = import_rotation_incidents(linked, client, now=NOW)
    assert state.error == "" and state.found["linked"] == 7
    return linked


@pytest.fixture
def page_reads(fake: FakePagerDuty, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """The escalation page reads PagerDuty through the fake."""
    settings.PAGERDUTY_API_TOKEN = "test-token"
    monkeypatch.setattr(escalation, "page_client", lambda: fake_client(fake))


# The figures, pure ---------------------------------------------------------------------------


def test_median_is_the_middle_and_p90_the_nearest_rank() -> None:
    times = [m * MINUTE for m in (9, 1, 3, 2)]
    assert median(times) == 2.5 * MINUTE
    assert median(times[:3]) == 3 * MINUTE
    assert p90(times) == 9 * MINUTE  # ceil(3.6) = 4th
    assert p90([m * MINUTE for m in range(1, 21)]) == 18 * MINUTE  # ceil(18) = 18th
    assert median([]) is None and p90([]) is None


def test_a_page_acknowledged_exactly_at_the_target_is_within_it() -> None:
    created = utc(25, 18)
    pages = [
        Page(created, created + 5 * MINUTE, None),
        Page(created, created + 5 * MINUTE + timedelta(seconds=1), created + 5 * MINUTE),
        Page(created, None, None, urgency="low"),
    ]
    figures = figures_of(pages, 5 * MINUTE, lambda page: False)
    assert (figures.pages, figures.within_target, figures.escalated) == (2, 1, 1)
    assert figures.percent_within == 50


def test_out_of_hours_is_on_the_primarys_own_clock() -> None:
    # 16:00 UTC on a Wednesday: 08:00 in Los Angeles (out of hours), 17:00 in Berlin (in hours).
    created = utc(25, 16)
    primary = Stretch(utc(24, 18), utc(1, 18, month=12), Duty.PRIMARY, "dave@example.com")
    pages = [Page(created, created + MINUTE, None)]
    week = [(primary.start, primary.end)]
    kwargs: dict[str, Any] = {"zone": LA}
    in_la = on_call_slo(pages, [primary], week, week[0], 5 * MINUTE, **kwargs)
    in_berlin = on_call_slo(
        pages, [primary], week, week[0], 5 * MINUTE, zones={primary.member: ZoneInfo("Europe/Berlin")}, **kwargs
    )  # fmt: skip
    assert in_la.weeks[0].figures.out_of_hours == 1
    assert in_berlin.weeks[0].figures.out_of_hours == 0


# The seeded set, imported through the fake ----------------------------------------------------


def test_the_seeded_weeks_equal_the_figures_worked_out_by_hand(seeded: Rotation) -> None:
    figures = escalation.rotation_slo(seeded, NOW).figures
    assert [(w.start, w.primaries) for w in figures.weeks] == [
        (utc(1, 18, month=12), ("Alice",)),
        (utc(24, 18), ("Dave",)),
    ]
    assert [w.figures for w in figures.weeks] == [WEEK_1, WEEK_0]
    assert [w.figures.percent_within for w in figures.weeks] == [33, 50]


def test_the_seeded_people_equal_the_figures_worked_out_by_hand(seeded: Rotation) -> None:
    figures = escalation.rotation_slo(seeded, NOW).figures
    assert [(p.name, p.figures) for p in figures.people] == [("Dave", WEEK_0), ("Alice", WEEK_1)]
    assert figures.start == datetime(2026, 10, 1, tzinfo=LA)


def test_a_longer_target_counts_more_pages_within_it(seeded: Rotation) -> None:
    AcknowledgeTarget.objects.create(rotation=seeded, minutes=10)
    figures = escalation.rotation_slo(seeded, NOW).figures
    assert figures.target == 10 * MINUTE
    assert [w.figures.within_target for w in figures.weeks] == [2, 3]  # PSLO8; PSLO2


# The page ------------------------------------------------------------------------------------


def escalation_url(rotation: Rotation) -> str:
    return reverse("pagerduty:escalation", args=[rotation.slug])


def test_the_page_shows_the_path_as_pagerduty_has_it(
    client: Client, seeded: Rotation, page_reads: None
) -> None:
    text = login(client, "bob").get(escalation_url(seeded)).content.decode()
    assert "As PagerDuty has policy PEPLAT1 now." in text
    assert "<strong>Level 1</strong> (primary):\n      Alice." in text
    assert "within 5 minutes, level 2." in text
    assert "<strong>Level 2</strong> (secondary):\n      Erin." in text
    assert "<strong>Level 3</strong>:\n      Head of Ops" in text
    assert "primary <strong>Alice</strong>, secondary <strong>Erin</strong>" in text
    assert "Acknowledge a page within <strong>5 min</strong>" in text


def test_the_page_shows_the_seeded_figures(
    client: Client, seeded: Rotation, page_reads: None
) -> None:
    text = login(client, "bob").get(escalation_url(seeded)).content.decode()
    assert '<td data-label="Within target">2 (50%)</td>' in text
    assert '<td data-label="Within target">1 (33%)</td>' in text
    assert '<td data-label="Median">5 min</td>' in text  # 5.5 min, shown to the minute
    assert '<td data-label="90th percentile">10 min</td>' in text


def test_the_page_reads_in_a_few_queries_however_many_pages(
    client: Client,
    seeded: Rotation,
    fake: FakePagerDuty,
    page_reads: None,
    django_assert_max_num_queries: Any,
) -> None:
    login(client, "bob")
    with django_assert_max_num_queries(16) as few:
        client.get(escalation_url(seeded))
    for n in range(40):
        fake.add_incident(f"PMORE{n}", "More", SERVICE, utc(27, 12) + n * MINUTE, now=NOW)
    with fake_client(fake) as pagerduty:
        import_rotation_incidents(seeded, pagerduty, now=NOW + MINUTE)
    with django_assert_max_num_queries(len(few)):
        assert client.get(escalation_url(seeded)).status_code == 200


def test_when_pagerduty_is_down_the_page_shows_the_last_good_read_and_says_so(
    client: Client, seeded: Rotation, fake: FakePagerDuty, page_reads: None
) -> None:
    with fake_client(fake) as pagerduty:
        run = sync_policy(seeded, pagerduty, now=NOW - 10 * MINUTE)
    assert run.outcome == SyncRun.Outcome.IN_SYNC
    fake.fail_next(503, times=10)
    response = login(client, "bob").get(escalation_url(seeded))
    text = response.content.decode()
    assert response.status_code == 200
    assert "PagerDuty could not be read just now" in text
    assert "as the sync last read it" in text
    assert "<strong>Level 1</strong> (primary):\n      Alice." in text
    # The sync stored ids only: a user who is no engineer is shown by PagerDuty's id.
    assert "<strong>Level 3</strong>:\n      POPSHEAD" in text
    assert '<td data-label="Within target">2 (50%)</td>' in text  # the figures are the portal's


def test_without_any_read_the_page_says_it_has_none(
    client: Client, seeded: Rotation, fake: FakePagerDuty, page_reads: None
) -> None:
    fake.fail_next(503, times=10)
    text = login(client, "bob").get(escalation_url(seeded)).content.decode()
    assert "no sync has read policy PEPLAT1 yet" in text


def test_the_schedule_links_to_the_escalation_page(client: Client, platform: Rotation) -> None:
    text = login(client, "bob").get(reverse("rotation:schedule", args=["platform"])).content
    assert escalation_url(platform).encode() in text


def test_the_escalation_page_needs_a_login(client: Client, platform: Rotation) -> None:
    response = client.get(escalation_url(platform))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_page_client_gives_up_quickly() -> None:
    client = escalation.page_client()
    assert isinstance(client, PagerDuty)
    assert client._max_attempts == 2 and client._max_wait == escalation.PAGE_TIMEOUT


def test_the_weekly_summary_counts_the_seeded_pages_of_its_week(seeded: Rotation) -> None:
    week = week_summary(seeded, utc(24, 18), utc(1, 18, month=12), NOW)
    assert week.pages == PagesLine(4, 2, 5 * MINUTE, 1, 2)  # WEEK_0
    running = week_summary(seeded, utc(1, 18, month=12), utc(8, 18, month=12), NOW)
    assert running.pages == PagesLine(3, 1, 5 * MINUTE, 2, 2)  # WEEK_1, so far
    assert (
        "- 3 pages: 1 acknowledged within 5 min (33%), 2 escalated to the secondary, 2 out of hours\n"
        in (summary_markdown(running))
    )


def test_a_rotation_without_a_policy_says_so_and_still_has_a_target(
    client: Client, platform: Rotation
) -> None:
    text = login(client, "bob").get(escalation_url(platform)).content.decode()
    assert "This rotation has no PagerDuty escalation policy." in text
    assert "Acknowledge a page within <strong>5 min</strong>" in text
    assert "No pages this quarter." in text


def test_managers_set_the_target_in_the_admin_and_engineers_cannot(
    client: Client, platform: Rotation
) -> None:
    add = reverse("admin:pagerduty_acknowledgetarget_add")
    response = login(client, "carol").post(add, {"rotation": platform.pk, "minutes": "10"})
    assert response.status_code == 302
    assert AcknowledgeTarget.objects.get(rotation=platform).minutes == 10
    assert escalation.target_of(platform) == 10 * MINUTE
    client.logout()
    assert login(client, "bob").get(add).status_code in (302, 403)
