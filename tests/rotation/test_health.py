"""Rotation health (issue 14, item 7): figures on a hand-computed rotation, each warning, a
quarter with a clock change, and the pages that show them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident
from pagerduty.models import IncidentLink
from rotation import health
from rotation.models import Engineer, Rotation
from rotation.schedule import Duty, RotationPlan
from rotation.stretches import OverrideWindow, Stretch, effective_stretches
from tests.conftest import login

UTC_ZONE = ZoneInfo("UTC")
BASE_QUERIES = 12  # the rotation page's queries before health, measured on its parent commit
DAY = timedelta(days=1)
# Q4 2026 in UTC: Thursday 1 October to Friday 1 January, 92 days.
Q_START = datetime(2026, 10, 1, tzinfo=UTC_ZONE)
Q_END = datetime(2027, 1, 1, tzinfo=UTC_ZONE)
NAMES = {"a@x": "Alice", "b@x": "Bob", "c@x": "Carl", "d@x": "Dana"}


def at(month: int, day: int, hour: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def four_people(overrides: list[OverrideWindow] | None = None) -> list[Stretch]:
    """a, b, c, d; handoffs Mondays 00:00 UTC from Monday 28 September. Week k (from 28 Sep +
    7k days) has primary members[k % 4] and secondary members[(k + 1) % 4]."""
    plan = RotationPlan.weekly(
        list(NAMES), date(2026, 9, 28), time_zone="UTC", weekday=0, at=time()
    )
    return effective_stretches(plan, overrides or [], Q_START, Q_END)


def figures(
    stretches: list[Stretch],
    incidents: list[datetime],
    roster: list[str],
    *,
    now: datetime = Q_END,
    zones: dict[str, ZoneInfo] | None = None,
) -> health.RotationHealth:
    return health.rotation_health(
        stretches, incidents, roster, Q_START, Q_END, now, zone=UTC_ZONE, zones=zones, names=NAMES
    )


def person(found: health.RotationHealth, email: str) -> health.PersonHealth:
    mine = found.of(email)
    assert mine is not None
    return mine


# Incidents on the four-person rotation (weeks: w0 28 Sep, w1 5 Oct, w2 12 Oct, w3 19 Oct).
INCIDENTS = [
    at(9, 30, 12),  # before the quarter: not counted
    at(10, 2, 12),  # Fri 12:00, w0, primary a: in hours
    at(10, 6, 3),  # Tue 03:00, w1, primary b: out of hours (before 09:00)
    at(10, 7, 12),  # Wed 12:00, w1, b: in hours
    at(10, 10, 12),  # Sat 12:00, w1, b: out of hours (weekend)
    at(10, 20, 12),  # Tue 12:00 UTC, w3, primary d: 21:00 in Tokyo, d's own zone
]


def test_figures_on_a_hand_computed_rotation() -> None:
    # The quarter is 92 days: w0 holds 4 of them (1-5 Oct), w1..w12 7 each (84), w13 4
    # (28 Dec-1 Jan): 4 + 84 + 4 = 92.
    # a: primary w0 (4 d), w4, w8, w12 (21 d); secondary w3, w7, w11 (21 d): 46 d = 50%.
    # b: primary w1, w5, w9 (21 d), w13 (4 d); secondary w0 (4 d), w4, w8, w12 (21 d): 50 d.
    # c: primary w2, w6, w10 (21 d); secondary w1, w5, w9 (21 d), w13 (4 d): 46 d = 50%.
    # d: primary w3, w7, w11; secondary w2, w6, w10: 42 d. Together 184 d = 2 roles x 92 d.
    found = figures(four_people(), INCIDENTS, list(NAMES), zones={"d@x": ZoneInfo("Asia/Tokyo")})
    by = {p.email: p for p in found.people}
    assert {e: p.on_call.days for e, p in by.items()} == {
        "a@x": 46,
        "b@x": 50,
        "c@x": 46,
        "d@x": 42,
    }
    assert by["b@x"].share == pytest.approx(50 / 92)
    assert by["b@x"].percent == 54
    # Shifts begun in the quarter: w1..w13, 13 (w0 began on 28 September, before it).
    # a began w4, w8, w12; b w1, w5, w9, w13; c w2, w6, w10; d w3, w7, w11.
    assert found.shifts == 13
    assert {e: p.shifts for e, p in by.items()} == {"a@x": 3, "b@x": 4, "c@x": 3, "d@x": 3}
    # Five incidents in the quarter: a 1 (in w0, a shift begun before the quarter), b 3, d 1.
    assert found.incidents == 5
    assert found.incidents_per_shift == pytest.approx(5 / 13)
    assert {e: p.incidents for e, p in by.items()} == {"a@x": 1, "b@x": 3, "c@x": 0, "d@x": 1}
    assert by["b@x"].incidents_per_shift == pytest.approx(3 / 4)
    assert by["c@x"].incidents_per_shift == 0
    # Out of hours: b's 03:00 and Saturday; d's 12:00 UTC is 21:00 in d's Tokyo.
    assert {e: p.out_of_hours for e, p in by.items()} == {"a@x": 0, "b@x": 2, "c@x": 0, "d@x": 1}


def test_pagerduty_pages_are_counted_per_primary_beside_the_incidents() -> None:
    # The same instants as pages: b's two out of hours, d's in Tokyo; the one before the
    # quarter is not counted. The incidents' figures stay as they are.
    found = health.rotation_health(
        four_people(), INCIDENTS[:2], list(NAMES), Q_START, Q_END, Q_END, zone=UTC_ZONE,
        zones={"d@x": ZoneInfo("Asia/Tokyo")}, names=NAMES, pages=INCIDENTS,
    )  # fmt: skip
    by = {p.email: p for p in found.people}
    assert found.pages == 5 and found.incidents == 1
    assert {e: p.pages for e, p in by.items()} == {"a@x": 1, "b@x": 3, "c@x": 0, "d@x": 1}
    assert {e: p.pages_out_of_hours for e, p in by.items()} == {
        "a@x": 0,
        "b@x": 2,
        "c@x": 0,
        "d@x": 1,
    }
    assert {e: p.out_of_hours for e, p in by.items()} == {"a@x": 0, "b@x": 0, "c@x": 0, "d@x": 0}


def test_incidents_per_shift_count_only_shifts_begun_so_far() -> None:
    # On Wednesday 14 October: w1 and w2 have begun (w3 begins on the 19th); the 20 October
    # incident has not happened yet as far as the figures know.
    found = figures(four_people(), INCIDENTS, list(NAMES), now=at(10, 14, 12))
    assert (found.shifts, found.incidents) == (2, 4)
    assert person(found, "b@x").incidents_per_shift == 3


def test_four_people_warn_for_the_roster_and_each_person() -> None:
    found = figures(four_people(), [], list(NAMES))
    assert found.warnings == [
        "4 people: the 25% ceiling needs 8.",
        "Alice is on call 50% of the quarter; the ceiling is 25%.",
        "Bob is on call 54% of the quarter; the ceiling is 25%.",
        "Carl is on call 50% of the quarter; the ceiling is 25%.",
        "Dana is on call 46% of the quarter; the ceiling is 25%.",
    ]


def test_eight_is_the_people_the_ceiling_needs() -> None:
    # Each person holds secondary then primary, 2 weeks in every n: 2/n <= 1/4 gives n >= 8.
    assert health.PEOPLE_NEEDED == 8


def test_eight_people_are_within_every_limit() -> None:
    # 8 people: a turn every 8 weeks, so in 13 weeks some hold 4 weeks (28 of 92 days, 30%).
    # 25% of 92 days is 3.3 weeks; on-call comes in weeks, so up to 4 weeks (28 d) is allowed.
    people = [f"p{n}@x" for n in range(8)]
    plan = RotationPlan.weekly(people, date(2026, 9, 28), time_zone="UTC", weekday=0, at=time())
    found = figures(effective_stretches(plan, [], Q_START, Q_END), [], people)
    assert max(p.on_call for p in found.people) == 28 * DAY
    assert found.warnings == []


def test_covering_too_much_crosses_the_ceiling_on_a_big_enough_roster() -> None:
    # On a roster of 8, p0 holds primary w0 (4 d, from 1 Oct), secondary w7 and primary w8
    # (14 d): 18 d. Covering p4's and p5's primary weeks w4 and w5 adds 14 d: 32 d (35%),
    # more than the 28 d (4 weeks) allowed.
    people = [f"p{n}@x" for n in range(8)]
    plan = RotationPlan.weekly(people, date(2026, 9, 28), time_zone="UTC", weekday=0, at=time())
    cover = OverrideWindow(Duty.PRIMARY, "p0@x", at(10, 26, 0), at(11, 9, 0))
    found = health.rotation_health(
        effective_stretches(plan, [cover], Q_START, Q_END),
        [],
        people,
        Q_START,
        Q_END,
        Q_END,
        zone=UTC_ZONE,
        names={"p0@x": "Pat"},
    )
    assert person(found, "p0@x").on_call == 32 * DAY
    assert found.warnings == ["Pat is on call 35% of the quarter; the ceiling is 25%."]


def test_more_than_about_two_incidents_a_shift_warns() -> None:
    # d began 3 shifts (w3, w7, w11); 7 incidents in w3 are 7/3 = 2.3 a shift.
    busy = [at(10, 20, hour) for hour in range(9, 16)]
    found = figures(four_people(), busy, list(NAMES))
    assert "Dana had 2.3 incidents a shift; the limit is about 2." in found.warnings
    # 6 would be exactly 2 a shift: within the limit.
    assert not person(figures(four_people(), busy[:6], list(NAMES)), "d@x").over_incidents


def test_out_of_hours_is_before_nine_from_six_or_the_weekend() -> None:
    london = ZoneInfo("Europe/London")
    assert health.is_out_of_hours(datetime(2026, 7, 1, 7, 59, tzinfo=UTC), london)  # 08:59 BST
    assert not health.is_out_of_hours(datetime(2026, 7, 1, 8, 0, tzinfo=UTC), london)  # 09:00
    assert health.is_out_of_hours(datetime(2026, 7, 1, 17, 0, tzinfo=UTC), london)  # 18:00
    assert health.is_out_of_hours(datetime(2026, 7, 4, 12, 0, tzinfo=UTC), london)  # Saturday


def test_a_quarter_with_a_clock_change_is_an_hour_short() -> None:
    # Q1 in London: midnight 1 Jan GMT to midnight 1 Apr BST (clocks forward on 29 March).
    london = ZoneInfo("Europe/London")
    start, end = health.quarter_of(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), london)
    # 23:30 UTC on 31 March is 00:30 BST on 1 April: already the second quarter.
    assert (start.astimezone(london).date(), end.astimezone(london).date()) == (
        date(2026, 4, 1),
        date(2026, 7, 1),
    )
    start, end = health.quarter_of(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), london)
    assert (start.astimezone(london).date(), end.astimezone(london).date()) == (
        date(2026, 1, 1),
        date(2026, 4, 1),
    )
    assert end - start == 90 * DAY - timedelta(hours=1)
    assert end.astimezone(UTC) == datetime(2026, 3, 31, 23, 0, tzinfo=UTC)


def test_a_whole_quarter_of_dst_on_call_is_all_of_it() -> None:
    # Two people in London swap primary and secondary weekly: each is on call all quarter,
    # the 90 days less the hour the clocks skip, and that is 100%, not 100.05%.
    plan = RotationPlan.weekly(["a@x", "b@x"], date(2025, 12, 30), time_zone="Europe/London")
    london = ZoneInfo("Europe/London")
    start, end = health.quarter_of(datetime(2026, 2, 1, tzinfo=UTC), london)
    found = health.rotation_health(
        effective_stretches(plan, [], start, end),
        [],
        ["a@x", "b@x"],
        start,
        end,
        end,
        zone=london,
    )
    assert [p.on_call for p in found.people] == [90 * DAY - timedelta(hours=1)] * 2
    assert [p.share for p in found.people] == [1.0, 1.0]
    # Shifts begun: Tuesdays 6 Jan .. 31 Mar, 13 of them.
    assert found.shifts == 13


# The pages: the platform rotation (Los Angeles) of four from 24 November; NOW is 2 December.


@pytest.fixture
def incidents(platform: Rotation, cast: dict[str, Engineer]) -> list[Incident]:
    # Week 1 (from Tue 1 Dec 10:00 Los Angeles): alice primary. Tue 1 Dec 20:00 PST is
    # out of hours; Wed 2 Dec 08:30 PST (16:30 UTC) is before 09:00: both alice's.
    return [
        Incident.objects.create(
            title=f"Down {n}", severity="SEV2", started_at=when, rotation=platform
        )
        for n, when in enumerate([at(12, 2, 4), datetime(2026, 12, 2, 16, 30, tzinfo=UTC)])
    ]


def test_the_rotation_page_shows_health_and_warns(
    client: Client, platform: Rotation, incidents: list[Incident]
) -> None:
    login(client, "alice")
    page = client.get("/rotations/platform/").content.decode()
    assert "Rotation health this quarter" in page
    assert "4 people: the 25% ceiling needs 8." in page
    # From 24 Nov to 1 Jan (00:00 Los Angeles) nobody passes 28 days: dave w0, w3, w4 (21 d);
    # alice w0, w1, w4 and w5 until the new year (21 d + 2 d 14 h); erin 16 d 14 h; bob 14 d.
    assert "of the quarter; the ceiling is 25%" not in page
    assert "2.0 a shift (2)" in page  # alice: 2 incidents in her 1 shift begun so far


def test_the_rotation_page_adds_one_query_for_health(
    client: Client, platform: Rotation, incidents: list[Incident]
) -> None:
    login(client, "alice")
    client.get("/rotations/platform/")
    with CaptureQueriesContext(connection) as first:
        client.get("/rotations/platform/")
    Incident.objects.bulk_create(
        Incident(title=f"More {n}", severity="SEV3", started_at=at(11, 25, n), rotation=platform)
        for n in range(20)
    )
    with CaptureQueriesContext(connection) as more:
        client.get("/rotations/platform/")
    assert len(more) == len(first)  # flat in the number of incidents
    # Without health the page made BASE queries (measured on the commit before it); health
    # reads the quarter with the weeks and adds the incidents' start instants: one query.
    # PagerDuty's pages: one more (pagerduty/slo.py's pages, read through the import's links).
    assert len(first) <= BASE_QUERIES + 2
    assert sum("incidents_incident" in q["sql"] for q in first.captured_queries) == 1
    assert sum("pagerduty_incidentlink" in q["sql"] for q in first.captured_queries) == 1


def test_the_rotation_page_and_me_show_pagerduty_pages_out_of_hours(
    client: Client, platform: Rotation, incidents: list[Incident]
) -> None:
    # Alice is primary from Tue 1 Dec 10:00 LA. 02:00 LA Wednesday is out of hours, 11:00 not.
    for n, when in enumerate([at(12, 2, 10), at(12, 1, 19)]):
        IncidentLink.objects.create(
            pagerduty_id=f"PPAGE{n}", rotation=platform, html_url="https://x.pagerduty.com/",
            urgency="high", status="triggered", created_at=when,
        )  # fmt: skip
    IncidentLink.objects.create(
        pagerduty_id="PLOW", rotation=platform, html_url="https://x.pagerduty.com/",
        urgency="low", status="triggered", created_at=at(12, 2, 11),
    )  # fmt: skip
    login(client, "alice")
    page = client.get("/rotations/platform/").content.decode()
    assert "PagerDuty paged 2 times" in page
    assert "2 incidents, 1 of 2 PagerDuty pages" in page
    me = client.get("/me/").content.decode()
    assert "2 out of hours; PagerDuty paged you 2 times, 1 out of hours." in me


def test_me_shows_my_own_figures(
    client: Client, platform: Rotation, incidents: list[Incident]
) -> None:
    login(client, "alice")
    page = client.get("/me/").content.decode()
    assert "Platform</a>: on call" in page
    assert "2 incidents in 1 shift as primary (2.0 a shift), 2 out of hours." in page


def test_a_page_far_from_the_quarter_reads_the_quarter_on_its_own(
    client: Client, platform: Rotation, incidents: list[Incident]
) -> None:
    # Weeks of 2029 and this quarter lie too far apart to read as one window: the health
    # section still describes this quarter, from a read of its own.
    login(client, "alice")
    page = client.get("/rotations/platform/?week=2029-06-05").content.decode()
    assert "1 Oct \N{EN DASH} 31 Dec 2026" in page
    assert "2.0 a shift (2)" in page
