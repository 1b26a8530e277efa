"""Every reader of "who holds which role when" agrees, at every instant, on a schedule made
hard on purpose: a roster edit, then overlapping overrides across the week the clocks spring
forward (14 Mar 2027 in Los Angeles), one of them across a handoff.

Readers asked: /api/v1/oncall and ``oncall --json``, /api/v1/schedule, the schedule page's
weeks, each person's /me/ shifts, the published calendar feed, the PagerDuty sync's roster,
PagerDuty drift (none against the portal's own stretches) and incident on-call snapshots.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from feeds.actions import feed_token_of, publish_calendars
from incidents.actions import open_incident
from pagerduty.sync import feed_drift, roster_now
from pagerduty.webcal import FeedShift
from rotation import timetable
from rotation.actions import create_override, save_roster
from rotation.effective import effective_schedule
from rotation.models import Engineer, Rotation
from rotation.schedule import Duty
from tests.conftest import NOW, login, make_engineer, shadowed

START = datetime(2026, 12, 2, 18, tzinfo=UTC)
END = datetime(2027, 4, 1, tzinfo=UTC)
STEP = timedelta(hours=19)


@pytest.fixture
def hard_schedule(platform: Rotation, cast: dict[str, Engineer]) -> Rotation:
    gina, hank = make_engineer("gina"), make_engineer("hank")
    frank = make_engineer("frank")
    shadowed(platform, frank)
    # From the handoff of 8 Dec the order gains frank (chain carried from erin).
    save_roster(platform, [cast["dave"], cast["alice"], cast["erin"], cast["bob"], frank], by=None)
    overrides = [
        # Gina as primary from Friday 12 Mar over the clock change and Tuesday's handoff.
        (
            "primary",
            gina,
            datetime(2027, 3, 12, 18, tzinfo=UTC),
            datetime(2027, 3, 16, 20, tzinfo=UTC),
        ),
        # Hank, later, over part of it: the later override wins where they overlap.
        (
            "primary",
            hank,
            datetime(2027, 3, 14, 8, tzinfo=UTC),
            datetime(2027, 3, 15, 8, tzinfo=UTC),
        ),
        # And a secondary cover inside the short week.
        (
            "secondary",
            gina,
            datetime(2027, 3, 10, 1, tzinfo=UTC),
            datetime(2027, 3, 11, 1, tzinfo=UTC),
        ),
        # An override this week, to be seen now.
        ("secondary", hank, NOW - timedelta(hours=2), NOW + timedelta(hours=30)),
    ]
    for role, who, start, end in overrides:
        create_override(platform, role=role, engineer=who, starts_at=start, ends_at=end, by=None)
    return platform


def instants(effective_edges: list[datetime]) -> list[datetime]:
    regular = [START + STEP * n for n in range(int((END - START) / STEP))]
    near_edges = [
        edge + delta for edge in effective_edges for delta in (timedelta(seconds=-1), timedelta())
    ]
    return sorted({t for t in regular + near_edges if START <= t < END})


def holder_in(items: list[tuple[datetime, datetime, str]], when: datetime) -> set[str]:
    return {who for start, end, who in items if start <= when < end}


def test_every_reader_agrees_at_every_instant(
    client: Client, hard_schedule: Rotation, cast: dict[str, Engineer]
) -> None:
    rotation = hard_schedule
    truth = effective_schedule(rotation, START, END)
    edges = [edge for edge in truth.edges_after(START) if edge < END]
    assert len(edges) > 20
    moments = instants(edges)
    people = list(Engineer.objects.all())
    names = {e.email: e.name for e in people}
    login(client, "erin")

    def expected(role: Duty, when: datetime) -> str:
        found = truth.holder(role, when)
        assert found is not None
        return found.member

    # /api/v1/schedule, over the whole window at once (two questions: it answers 400 days).
    api_stretches = client.get(
        "/api/v1/schedule",
        {"rotation": "platform", "from": START.isoformat(), "to": END.isoformat()},
    ).json()
    by_role_api = {
        role: [
            (
                datetime.fromisoformat(s["start"]),
                datetime.fromisoformat(s["end"]),
                s["person"]["email"],
            )
            for s in api_stretches
            if s["role"] == role
        ]
        for role in ("primary", "secondary")
    }
    # The schedule page's weeks.
    grid_rows = []
    around = START.date()
    while around < END.date():
        grid_rows += timetable.schedule_grid(rotation, around, NOW).rows
        around += timedelta(weeks=12)
    by_role_grid = {
        role: [(h.start, h.end, h.person.email) for row in grid_rows for h in getattr(row, role)]
        for role in ("primary", "secondary")
    }
    # Each person's /me/ shifts (six months ahead of now).
    mine = {
        role: [
            (s.start, s.end, person.email)
            for person in people
            for s in timetable.my_shifts(person, NOW).upcoming
            if s.role.lower() == role
        ]
        for role in ("primary", "secondary")
    }
    # The published feed, read back with icalendar.
    publish_calendars(now=NOW)
    token = feed_token_of(cast["erin"].user)  # type: ignore[arg-type]
    feed = Client().get(f"/calendars/{token.token}/platform.all.ics")
    assert feed.status_code == 200
    by_role_feed: dict[str, list[tuple[datetime, datetime, str]]] = {"primary": [], "secondary": []}
    by_name = {name: email for email, name in names.items()}
    for event in icalendar.Calendar.from_ical(feed.content).walk("VEVENT"):
        summary = str(event["SUMMARY"])
        role, _, rest = summary.partition(" on call: ")
        if role.lower() in by_role_feed:
            person = rest.rsplit(" (", 1)[0]
            by_role_feed[role.lower()].append(
                (
                    event.decoded("DTSTART").astimezone(UTC),
                    event.decoded("DTEND").astimezone(UTC),
                    by_name[person],
                )
            )

    for when in moments:
        primary, secondary = expected(Duty.PRIMARY, when), expected(Duty.SECONDARY, when)
        assert primary != secondary, when
        (answer,) = client.get(
            "/api/v1/oncall", {"rotation": "platform", "at": when.isoformat()}
        ).json()
        assert (answer["primary"]["email"], answer["secondary"]["email"]) == (primary, secondary), (
            when
        )
        assert roster_now(rotation, when) == [primary, secondary], when
        for role, who in (("primary", primary), ("secondary", secondary)):
            assert holder_in(by_role_api[role], when) == {who}, (when, role)
            assert holder_in(by_role_grid[role], when) == {who}, (when, role)
            if when >= NOW and when < NOW + timedelta(days=183):
                assert holder_in(mine[role], when) == {who}, (when, role)
            if when < NOW + timedelta(days=365):
                assert holder_in(by_role_feed[role], when) == {who}, (when, role)

    # ``oncall --json`` and incident snapshots, at a sample of the instants (each is a process-
    # level command or a write, slower than a page).
    for when in moments[:: max(1, len(moments) // 12)]:
        out = io.StringIO()
        call_command(
            "oncall", "--rotation", "platform", "--at", when.isoformat(), "--json", stdout=out
        )
        (answer,) = json.loads(out.getvalue())
        assert answer["primary"]["email"] == expected(Duty.PRIMARY, when)
        incident = open_incident(
            {"title": "Probe", "severity": "SEV3", "started_at": when, "rotation": rotation},
            by=User.objects.get(username="carol@example.com"),
            now=when,
        )
        assert incident.on_call_at_open["primary"]["email"] == expected(Duty.PRIMARY, when)
        assert incident.on_call_at_open["secondary"]["email"] == expected(Duty.SECONDARY, when)
        assert incident.primary_at_start.email == expected(Duty.PRIMARY, when)  # type: ignore[union-attr]

    # PagerDuty drift: a feed that says exactly what the portal says shows no drift.
    for role in (Duty.PRIMARY, Duty.SECONDARY):
        feed_shifts = [
            FeedShift(s.start, s.end, names[s.member], s.member, names[s.member])
            for s in truth.stretches
            if s.role == role
        ]
        assert feed_drift(rotation, role.value, feed_shifts, NOW) == []
