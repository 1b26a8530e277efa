"""The demo team's recent past, so every page opens with real-looking content: incidents with
customer updates, a published post-mortem with action items, one still owed, a heads-up ahead,
and the weeks' record (releases shepherded, triage days ticked, handoff reports written and
acknowledged). Written through the actions, as people would have, at the times they would have.

Idempotent: the incidents are written once, when the demo's first incident is missing; the
weeks' record once, when the rotation has no handoff report.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from handoff import days
from handoff.actions import acknowledge_report, open_report, submit_report
from handoff.models import Holiday
from handoff.release import primary_at, release_state, tick_step
from handoff.triage import days_of_week, due_hour, tick_triage
from incidents import actions as incident_actions
from incidents.heads_up import post_heads_up
from incidents.models import Incident, Postmortem
from rotation.models import Engineer, Rotation, schedule_of

CHECKOUT = "Checkout latency over 2 seconds"


def seed_history(rotation: Rotation, now: datetime) -> None:
    """Write the demo's past weeks once."""
    if not Incident.objects.filter(title=CHECKOUT).exists():
        _seed_incidents(rotation, now)
    if not rotation.handoffs.exists():
        _seed_weeks(rotation, now)


TRIAGE_NOTES = [
    "Quiet.",
    "Two disk alerts on db-2; ticket OPS-412 filed.",
    "Flaky canary on web-3, muted for a day.",
    "Nothing new.",
]
WORRIES = [
    "The orders index fix is manual until the migration check lands (Bob's action item).",
    "Search indexer stalled once overnight; watch its lag graph after Tuesday's release.",
    "Nothing pressing; the PostgreSQL upgrade heads-up is this week.",
]


@transaction.atomic
def _seed_weeks(rotation: Rotation, now: datetime) -> None:
    """Every past week of the demo rotation: its release shepherded, its triage days ticked (one
    missed), its handoff report submitted and acknowledged; this week's release under way."""
    plan = schedule_of(rotation)
    assert plan is not None
    zone, due_at = rotation.zone, due_hour(rotation)
    november = date(now.year, 11, 1)
    thanksgiving = november + timedelta(days=(3 - november.weekday()) % 7 + 21)
    for day, name in ((thanksgiving, "Thanksgiving"), (date(now.year, 12, 25), "Christmas Day")):
        Holiday.objects.get_or_create(rotation=rotation, day=day, defaults={"name": name})
    week = days.week_at(plan, plan.start)
    number = 0
    while week is not None and week[0] <= now:
        start, end = week
        primary = primary_at(rotation, start)
        assert primary is not None and primary.user is not None
        user = primary.user
        steps = len(release_state(rotation, start).steps)
        finished = end <= now
        for position in range(1, (steps if finished else 2) + 1):
            at = min(start + timedelta(hours=2 + position), now)
            tick_step(rotation, week, position, done=True, by=user, now=at)
        for n, day in enumerate(days_of_week(rotation, start, min(end, now), due_at)):
            if finished and n == 2 and number == 1:
                continue  # a missed day, so the log shows one
            at = days.triage_due(day, due_at, zone) - timedelta(minutes=40)
            tick_triage(rotation, day, TRIAGE_NOTES[n % len(TRIAGE_NOTES)], by=user, now=at)
        if finished:
            report = open_report(rotation, end)
            assert report is not None and report.incoming.user is not None
            worries = WORRIES[number % len(WORRIES)]
            submit_report(report, worries, by=user, now=end - timedelta(hours=1))
            acknowledge_report(report, by=report.incoming.user, now=end + timedelta(minutes=20))
        week = days.week_at(plan, end)
        number += 1


def _seed_incidents(rotation: Rotation, now: datetime) -> None:
    with transaction.atomic():
        people = {e.email.split("@")[0]: e for e in Engineer.objects.select_related("user")}
        this_week = rotation.calendar.handoff_day_at_or_before(now)
        _checkout_incident(
            rotation, people, _local(rotation, this_week - timedelta(days=13), 14, 5)
        )
        _indexer_incident(rotation, people, _local(rotation, this_week - timedelta(days=5), 3, 20))
        _heads_up(people, now)


def _local(rotation: Rotation, day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), rotation.calendar.time_zone)


def _user(people: dict[str, Engineer], name: str) -> User:
    user = people[name].user
    assert user is not None, f"the demo's {name} has a login"
    return user


def _checkout_incident(rotation: Rotation, people: dict[str, Engineer], start: datetime) -> None:
    """A customer-facing SEV2 two weeks ago: three customer updates, resolved in 72 minutes,
    its post-mortem published with one action item done and one open."""
    alice, bob, carol = (_user(people, n) for n in ("alice", "bob", "carol"))
    incident = incident_actions.open_incident(
        {
            "title": CHECKOUT,
            "severity": "SEV2",
            "status": "investigating",
            "customer_impact": True,
            "services": "checkout, payments",
            "started_at": start,
            "detected_at": start + timedelta(minutes=2),
            "rotation": rotation,
        },
        by=alice,
        now=start + timedelta(minutes=4),
    )
    steps: list[tuple[int, str, dict[str, Any]]] = [
        (4, "Paged; acknowledged. p99 on checkout at 2.4 s.", {"acknowledged_at": 4}),
        (15, "Slow queries on orders: a missing index after Tuesday's release.", {}),
        (38, "Index rebuilt concurrently; p99 back under 400 ms.", {"mitigated_at": 38}),
    ]
    statuses = {15: "identified", 38: "monitoring"}
    for minutes, text, times in steps:
        at = start + timedelta(minutes=minutes)
        changes: dict[str, Any] = {k: start + timedelta(minutes=v) for k, v in times.items()}
        if minutes in statuses:
            changes["status"] = statuses[minutes]
        if changes:
            incident_actions.update_incident(incident, changes, by=alice, now=at)
        incident_actions.add_note(incident, text, by=alice, now=at)
        if minutes in (4, 38):
            _send_update(incident, alice, at)
    resolved = start + timedelta(minutes=72)
    incident_actions.update_incident(
        incident, {"status": "resolved", "resolved_at": resolved}, by=alice, now=resolved
    )
    _send_update(incident, alice, resolved)
    postmortem = Postmortem.objects.get(incident=incident)
    sections = {
        "summary": "Checkout slowed to 2.4 s at p99 for 72 minutes after a release dropped an "
        "index on `orders`.",
        "impact": "About 6% of checkouts timed out; customers retried successfully.",
        "root_causes": "A migration rebuilt `orders` without its `(customer_id, created_at)` "
        "index; the release checklist had no step comparing query plans.",
        "trigger": "Tuesday's production release.",
        "resolution": "Rebuilt the index concurrently.",
        "detection": "PagerDuty paged the primary on the latency SLO two minutes in.",
        "went_well": "- Paged within 2 minutes\n- Customer updates every 30 minutes",
        "went_wrong": "- The migration review missed the dropped index",
        "got_lucky": "- Low traffic on a Wednesday afternoon",
    }
    published = resolved + timedelta(days=2)
    incident_actions.save_postmortem(postmortem, sections, "published", by=carol, now=published)
    done = incident_actions.add_action_item(
        postmortem,
        {"title": "Check query plans on staging before promoting", "owner": people["alice"]}
        | {"due_on": published.date() + timedelta(days=5)},
        by=carol,
    )
    incident_actions.set_action_done(done, True, by=alice, now=published + timedelta(days=3))
    incident_actions.add_action_item(
        postmortem,
        {"title": "Alert on missing indexes after migrations", "owner": people["bob"]}
        | {"due_on": published.date() + timedelta(days=21)},
        by=bob,
    )


def _send_update(incident: Incident, by: User, at: datetime) -> None:
    update = incident_actions.draft_update(incident, by=by, now=at)
    incident_actions.send_update(update, update.body, by=by, now=at)


def _indexer_incident(rotation: Rotation, people: dict[str, Engineer], start: datetime) -> None:
    """An out-of-hours SEV2 last week, no customers affected: resolved, its post-mortem owed."""
    bob = _user(people, "bob")
    incident = incident_actions.open_incident(
        {
            "title": "Search indexer stalled",
            "severity": "SEV2",
            "status": "investigating",
            "services": "search",
            "started_at": start,
            "acknowledged_at": start + timedelta(minutes=7),
            "rotation": rotation,
        },
        by=bob,
        now=start + timedelta(minutes=7),
    )
    at = start + timedelta(minutes=50)
    incident_actions.add_note(
        incident, "Restarted the indexer; the backlog drains.", by=bob, now=at
    )
    resolved = start + timedelta(hours=2, minutes=10)
    incident_actions.update_incident(
        incident,
        {"status": "resolved", "mitigated_at": at, "resolved_at": resolved},
        by=bob,
        now=resolved,
    )


def _heads_up(people: dict[str, Engineer], now: datetime) -> None:
    """A customer-facing database upgrade the day after tomorrow, 30 minutes of downtime."""
    erin = people["erin"]
    starts = (now + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    post_heads_up(
        {
            "title": "PostgreSQL 16 upgrade of the orders cluster",
            "kind": "downtime",
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=30),
            "services": "checkout, orders",
            "owner": erin,
            "rollback": "Fail back to the old primary (kept read-only for a day).",
            "customer_facing": True,
        },
        by=_user(people, "erin"),
    )
