"""``make bench``'s database side, run in a subprocess per benchmark database: seed a rotation,
count queries per page, and edit the roster under the running server."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.bench import BenchError
from tests.bench_report import API, DASHBOARD

INCIDENTS = 10_000  # the incident list is measured with this many stored
RUNBOOKS = 5_000  # and a runbook page with this many pages
HEADS_UPS = 200  # the dashboard reads the current and coming ones among these
REPORTS = 12  # weeks of handoff reports behind the dashboard's handoff panel
# The changes people make every week, stored while the schedule's readers are measured.
SWAPS, COVERS, TIME_OFF = 200, 500, 300
SCHEDULE_DAYS = 365  # GET /api/v1/schedule is measured for a year
WRITE_EVERY = 2.0  # seconds between the background writer's rounds of writes
# Counts publications of the calendars in the benchmark's database only: publishing saves the
# publication row once with its new horizon (its first statement, taking the lock, sets only
# the stamp).
COUNT_PUBLICATIONS = [
    "CREATE TABLE bench_publications (n integer NOT NULL)",
    "INSERT INTO bench_publications VALUES (0)",
    "CREATE TRIGGER bench_count_publications AFTER UPDATE OF horizon ON rotation_publication "
    "BEGIN UPDATE bench_publications SET n = n + 1; END",
]
ROOT = Path(__file__).resolve().parent.parent

# --- helpers run in a subprocess with Django set up on one benchmark database -------------


def _setup_django() -> None:
    import django

    django.setup()


def prepare(engineers: int) -> dict[str, Any]:
    """Migrate, seed a rotation of ``engineers`` with 1 then 10 years of shifts, count queries."""
    _setup_django()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    from feeds.actions import feed_token_of
    from incidents.models import Incident
    from portal.models import ApiToken, TopicStamp, hash_token
    from rotation import schedule
    from rotation.actions import save_roster
    from rotation.models import Engineer, Override, RosterEra, Rotation, Shift, schedule_of
    from runbooks.markdown import render
    from runbooks.models import Runbook

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        for statement in COUNT_PUBLICATIONS:
            cursor.execute(statement)
    setup_test_environment()  # lets the test client's "testserver" host in
    now = timezone.now()
    Engineer.objects.bulk_create(
        Engineer(name=f"Engineer {i:03d}", email=f"engineer{i:03d}@example.com")
        for i in range(1, engineers + 1)
    )
    members = list(Engineer.objects.order_by("email"))
    user = User.objects.create_user("bench", members[0].email)  # an engineer of the roster
    members[0].user = user
    members[0].save()
    ten_years_ago = (now - timedelta(days=3653)).date()
    starts_on = ten_years_ago - timedelta(days=(ten_years_ago.weekday() - 1) % 7)  # a Tuesday
    rotation = Rotation.objects.create(slug="bench", name="Bench", starts_on=starts_on)
    save_roster(rotation, members, by=None)  # materialises a year ahead and 35 days back
    spec = schedule_of(rotation)
    assert spec is not None
    ids = dict(Engineer.objects.values_list("email", "id"))

    def store_history(since: datetime) -> str:
        Shift.objects.bulk_create(
            (
                Shift(
                    rotation=rotation,
                    role=shift.role.value,
                    engineer_id=ids[shift.member],
                    starts_at=shift.start,
                    ends_at=shift.end,
                )
                for shift in schedule.shifts_between(spec, since, now)
            ),
            ignore_conflicts=True,
        )
        # History the effective schedule reads: a roster change every quarter (every era is
        # loaded for the chain rule) and a day's override every week.
        first = rotation.eras.order_by("starts_at").first()
        assert first is not None
        handoffs = [
            rotation.calendar.handoff_at(starts_on + timedelta(weeks=week))
            for week in range(1, 530)
        ]
        # Older than any published feed reaches (40 days back), so it is history for every reader.
        past = [handoff for handoff in handoffs if since <= handoff < now - timedelta(weeks=8)]
        RosterEra.objects.bulk_create(
            (
                RosterEra(
                    rotation=rotation,
                    starts_at=handoff,
                    member_ids=first.member_ids[n % 7 :] + first.member_ids[: n % 7],
                    time_zone=first.time_zone,
                    handoff_weekday=first.handoff_weekday,
                    handoff_time=first.handoff_time,
                )
                for n, handoff in enumerate(past[::13], start=1)
            ),
            ignore_conflicts=True,
        )
        Override.objects.bulk_create(
            Override(
                rotation=rotation,
                role="primary",
                engineer=members[-1],
                starts_at=handoff + timedelta(days=2),
                ends_at=handoff + timedelta(days=3),
                reason="history",
            )
            for handoff in past
            if not Override.objects.filter(rotation=rotation, starts_at=handoff + timedelta(days=2))
        )
        shifts = Shift.objects.filter(rotation=rotation, starts_at__lte=now).count()
        eras, overrides = rotation.eras.count(), rotation.overrides.count()
        return f"{shifts} past shift rows, {eras} roster eras, {overrides} overrides"

    seeded_changes = seed_changes(rotation, members, now)
    seeded_week = seed_week_record(rotation, now)
    raw_token = ApiToken.generate()
    ApiToken.objects.create(user=user, token_hash=hash_token(raw_token))
    browser = Client()
    browser.force_login(user)
    script = Client(headers={"authorization": f"Bearer {raw_token}"})
    feed = f"/calendars/{feed_token_of(user).token}/bench.all.ics"
    calendar_app = Client()
    etag = calendar_app.get(feed)["ETag"]
    conditional = Client(headers={"if-none-match": etag})
    Incident.objects.bulk_create(
        Incident(
            title=f"Incident {n}",
            severity=f"SEV{n % 4 + 1}",
            status="resolved" if n > 5 else "investigating",
            services="checkout" if n % 3 else "search",
            started_at=now - timedelta(hours=n * 3),
            resolved_at=now - timedelta(hours=n * 3 - 1) if n > 5 else None,
        )
        for n in range(INCIDENTS)
    )
    body = (ROOT / "runbooks" / "demo" / "Checkout-5xx.md").read_text()
    Runbook.objects.bulk_create(
        Runbook(
            slug=f"page-{n}",
            title=f"Page {n}",
            body=body,
            html=render(body),
            updated_at=now,
            review_due_at=now + timedelta(days=90),
        )
        for n in range(RUNBOOKS)
    )
    runbook = "/runbooks/page-2500/"
    schedule_url = schedule_year_url(now)
    pages = {
        "dashboard": (browser, DASHBOARD, 200),
        "schedule": (script, schedule_url, 200),
        "runbook": (browser, runbook, 200),
        "incidents": (browser, "/incidents/", 200),
        "api": (script, API, 200),
        "feed": (calendar_app, feed, 200),
        "feed 304": (conditional, feed, 304),
    }

    def count_queries() -> dict[str, int]:
        """Per page: "cold", the first request after a write to every topic (nothing
        remembered holds), and "warm", the next one (answers remembered under the unchanged
        stamps)."""
        counts = {}
        for name, (client, url, status) in pages.items():
            for state in ("cold", "warm"):
                if state == "cold":
                    for stamp in TopicStamp.objects.all():  # as a trigger would, topic by topic
                        stamp.value = secrets.randbits(62)
                        stamp.save()
                    # A write changes the ETag: a calendar app holds the new one only after
                    # fetching the feed again (which publishes), so "cold" starts from there.
                    if status == 304:
                        client.defaults["HTTP_IF_NONE_MATCH"] = calendar_app.get(url)["ETag"]
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url)
                if response.status_code != status:
                    raise BenchError(f"{url} answered {response.status_code} in the test client")
                counts[f"{name} {state}"] = len(queries.captured_queries)
        return counts

    past_shifts: dict[str, str] = {}
    queries: dict[str, dict[str, int]] = {}
    for label, since in (("1 year", now - timedelta(days=365)), ("10 years", spec.start)):
        past_shifts[label] = store_history(since)
        queries[label] = count_queries()
    return {
        "token": raw_token,
        "feed": feed,
        "runbook": runbook,
        "schedule": schedule_url,
        "schedule_bytes": len(script.get(schedule_url).content),
        "changes": seeded_changes,
        "week": seeded_week,
        # What a browser sends: the session, and the CSRF cookie its first page set.
        "cookie": "; ".join(
            f"{name}={browser.cookies[name].value}"
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
        ),
        "queries": queries,
        "past_shifts": past_shifts,
        "shifts": Shift.objects.filter(rotation=rotation).count(),
    }


def schedule_year_url(now: datetime) -> str:
    start = now.replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(days=SCHEDULE_DAYS)
    return f"/api/v1/schedule?rotation=bench&from={start:%Y-%m-%dT%H:%MZ}&to={end:%Y-%m-%dT%H:%MZ}"


def seed_week_record(rotation: Any, now: datetime) -> str:
    """What the dashboard's week panels read: HEADS_UPS heads-ups around now, this week's
    release with two steps ticked and its triage days, and the handoff reports of the last
    REPORTS weeks, submitted and acknowledged, plus the next one open."""
    from handoff import days
    from handoff.actions import open_report
    from handoff.models import HandoffReport, ReleaseStep, TriageDay
    from handoff.release import open_release
    from handoff.triage import days_of_week, due_hour
    from incidents.models import HeadsUp
    from rotation.models import schedule_of

    HeadsUp.objects.bulk_create(
        HeadsUp(
            title=f"Change {n}",
            kind="change",
            starts_at=now + timedelta(hours=n * 7 - 30 * 24),
            ends_at=now + timedelta(hours=n * 7 - 30 * 24 + 2),
            rollback="Roll back the deploy.",
            customer_facing=n % 5 == 0,
        )
        for n in range(HEADS_UPS)
    )
    plan = schedule_of(rotation)
    assert plan is not None
    week = days.week_at(plan, now)
    assert week is not None
    release = open_release(rotation, week[0])
    ReleaseStep.objects.filter(release=release, position__lte=2).update(done_at=now)
    due_at = due_hour(rotation)
    TriageDay.objects.bulk_create(
        TriageDay(rotation=rotation, day=day, done_at=now, note="Quiet.")
        for day in days_of_week(rotation, week[0], now, due_at)
    )
    bounds: tuple[datetime, datetime] | None = week
    for _ in range(REPORTS + 1):
        assert bounds is not None
        open_report(rotation, bounds[1])
        bounds = days.week_at(plan, bounds[0] - timedelta(seconds=1))
    HandoffReport.objects.filter(rotation=rotation, handoff_at__lte=now).update(
        submitted_at=now, acknowledged_at=now, worries="Watch the disks."
    )
    return f"{HEADS_UPS} heads-ups, {HandoffReport.objects.count()} handoff reports"


def seed_changes(rotation: Any, members: list[Any], now: datetime) -> str:
    """SWAPS accepted stint swaps, COVERS covers and TIME_OFF time-off ranges, all valid: each
    swap exchanges stints their people hold once the swaps before it apply, and keeps the rules
    both now and after ``edit_roster`` reverses the order (the freshness check's edit must be
    accepted); each cover stands in for whoever holds its window, taken by someone from
    outside the roster (who can never hold the other role). The readers do the whole work."""
    import dataclasses
    import random

    from rotation import rules, schedule
    from rotation.models import Engineer, Override, Swap, TimeOff, schedule_of

    chance = random.Random(13)
    plan = schedule_of(rotation)
    assert plan is not None
    ids = {member.email: member.id for member in members}
    emails = [member.email for member in members]
    edit_at = schedule.next_handoff(plan, now)
    # Stints from eight weeks back (newer than any seeded roster era) to two years ahead.
    first = rotation.calendar.handoff_day_at_or_before(now - timedelta(weeks=8))
    handoffs = [rotation.calendar.handoff_at(first + timedelta(weeks=w)) for w in range(110)]
    week = timedelta(weeks=1)

    def keeps_rules(candidate: Any, starts: tuple[datetime, datetime]) -> bool:
        edited = schedule.with_roster(candidate, emails[::-1], edit_at)
        return not any(
            rules.effective_problems(version, [], start - week, start + 3 * week)
            for version in (candidate, edited)
            for start in starts
        )

    swaps: list[schedule.StintSwap] = []
    while len(swaps) < SWAPS:
        one, other = chance.sample(handoffs, 2)
        holders = {
            start: next(
                s.member
                for s in schedule.shifts_between(plan, start, start + timedelta(hours=1))
                if s.role == schedule.Duty.SECONDARY
            )
            for start in (one, other)
        }
        # The freshness check reads the weeks around the edit: they stay as the roster says.
        if any(edit_at - week <= start < edit_at + 2 * week for start in (one, other)):
            continue
        if holders[one] == holders[other] or not all(
            schedule.stint_of(plan, member, start) for start, member in holders.items()
        ):
            continue
        swap = schedule.StintSwap(holders[one], one, holders[other], other, ref=len(swaps))
        candidate = dataclasses.replace(plan, swaps=(*plan.swaps, swap))
        if keeps_rules(candidate, (one, other)):
            plan = candidate
            swaps.append(swap)
    Swap.objects.bulk_create(
        Swap(
            rotation=rotation,
            proposer_id=ids[swap.member],
            proposer_stint=swap.start,
            partner_id=ids[swap.other],
            partner_stint=swap.other_start,
            status="accepted",
            decided_at=now - timedelta(weeks=9) + timedelta(minutes=number),
        )
        for number, swap in enumerate(swaps)
    )
    takers = Engineer.objects.bulk_create(
        Engineer(name=f"Cover {n}", email=f"cover{n}@example.com") for n in range(3)
    )
    covers: list[Any] = []
    number = 0
    while len(covers) < COVERS:
        # Four-hour windows, a few a week, from eight weeks back over about a year; one that
        # spans a handoff is skipped, so that each stands in for one person.
        start = handoffs[0] + timedelta(hours=5 + 21 * number)
        number += 1
        role = schedule.Duty.PRIMARY if number % 2 else schedule.Duty.SECONDARY
        slot = schedule.shifts_between(plan, start, start + timedelta(hours=4))
        if len(slot) != 2 or edit_at - week <= start < edit_at + 2 * week:
            continue
        holder = next(s.member for s in slot if s.role == role)
        covers.append(
            Override(
                rotation=rotation,
                role=role.value,
                engineer=takers[number % len(takers)],
                covers_id=ids[holder],
                starts_at=start,
                ends_at=start + timedelta(hours=4),
                reason="bench cover",
            )
        )
    Override.objects.bulk_create(covers)
    today = now.date()
    TimeOff.objects.bulk_create(
        TimeOff(
            engineer=chance.choice(members),
            starts_on=(day := today + timedelta(days=chance.randrange(365))),
            ends_on=day + timedelta(days=chance.randrange(2, 10)),
            note="bench",
        )
        for _ in range(TIME_OFF)
    )
    return f"{SWAPS} swaps, {COVERS} covers, {TIME_OFF} time-off ranges"


def edit_roster(at: str) -> dict[str, Any]:
    """Reverse the roster order (from the next handoff); say who the effective schedule (covers
    and swaps applied) now puts on call."""
    _setup_django()
    from django.utils import timezone

    from rotation.actions import save_roster
    from rotation.models import Rotation
    from rotation.oncall import on_call

    rotation = Rotation.objects.get(slug="bench")
    order = [
        m.engineer for m in rotation.memberships.select_related("engineer").order_by("position")
    ]
    plan = save_roster(rotation, order[::-1], by=None)
    (now,) = on_call([rotation], timezone.now())
    (later,) = on_call([rotation], datetime.fromisoformat(at))
    now_json, later_json = now.as_json(), later.as_json()
    return {
        "effective": plan.effective.isoformat(),
        "now": {
            "next_primary": now_json["next"]["primary"]["name"],
            "next_secondary": now_json["next"]["secondary"]["name"],
        },
        "at": {
            "primary": later_json["primary"]["name"],
            "secondary": later_json["secondary"]["name"],
        },
    }


def write_in_background(stop: str) -> dict[str, Any]:
    """What the portal writes while nobody edits a schedule, every WRITE_EVERY seconds until the
    file ``stop`` exists: a PagerDuty sync run, a login (it notes the user's last login) and an
    incident timeline note. Counts them, and the calendar publications meanwhile."""
    _setup_django()
    from django.conf import settings
    from django.contrib.auth import login
    from django.contrib.auth.models import User
    from django.db import connection
    from django.http import HttpRequest
    from django.utils import timezone
    from django.utils.module_loading import import_string

    from incidents.actions import add_note
    from incidents.models import Incident
    from pagerduty.models import SyncRun
    from rotation.models import Rotation

    def publications() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT n FROM bench_publications")
            count: int = cursor.fetchone()[0]
        return count

    user = User.objects.get_or_create(username="bench-writer")[0]
    incident = Incident.objects.exclude(status="resolved").order_by("pk").first()
    assert incident is not None
    rotation = Rotation.objects.get(slug="bench")
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    published_before, rounds = publications(), 0
    print("ready", flush=True)
    while not Path(stop).exists():
        started = time.monotonic()
        SyncRun.objects.create(
            kind=SyncRun.Kind.POLICY,
            rotation=rotation,
            started_at=timezone.now(),
            outcome=SyncRun.Outcome.IN_SYNC,
            duration_ms=120,
        )
        request = HttpRequest()
        request.session = store()
        login(request, user, backend="portal.auth.RememberingModelBackend")
        add_note(incident, f"Still investigating ({rounds})", by=user)
        rounds += 1
        time.sleep(max(0.0, WRITE_EVERY - (time.monotonic() - started)))
    return {"rounds": rounds, "publications": publications() - published_before}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare").add_argument("engineers", type=int)
    commands.add_parser("edit").add_argument("at")
    commands.add_parser("writer").add_argument("stop")
    args = parser.parse_args()
    if args.command == "prepare":
        print(json.dumps(prepare(args.engineers)))
    elif args.command == "writer":
        print(json.dumps(write_in_background(args.stop)))
    else:
        print(json.dumps(edit_roster(args.at)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
