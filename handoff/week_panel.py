"""The dashboard's "This week" panel: each rotation's release steps done and today's triage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from handoff import checklist, days
from handoff.models import Holiday, Release, TriageDay, WeekSetup
from handoff.release import name_of
from handoff.triage import DEFAULT_DUE_AT
from portal.stamp import Stamps, pick, remember
from rotation.oncall import OnCall, on_call_now


@dataclass(frozen=True)
class WeekLine:
    """One rotation's week at a glance; ``triage`` is "done", "due", "overdue" or "off" (a
    weekend or holiday in the rotation's zone)."""

    answer: OnCall
    done: int
    total: int
    today: date
    triage: str
    due_at: datetime
    triaged_by: str


def week_lines(answers: list[OnCall], now: datetime) -> list[WeekLine]:
    """Four queries for any number of rotations."""
    current = [a for a in answers if a.shift_start is not None]
    if not current:
        return []
    ids = [a.rotation.pk for a in current]
    weeks = Q()
    for a in current:
        weeks |= Q(rotation_id=a.rotation.pk, week_start=a.shift_start)
    releases = {
        r.rotation_id: r
        for r in Release.objects.filter(weeks).annotate(
            total=Count("steps"), done=Count("steps", filter=Q(steps__done_at__isnull=False))
        )
    }
    setups = {
        s.rotation_id: s
        for s in WeekSetup.objects.filter(rotation_id__in=ids).select_related("release_runbook")
    }
    todays = {a.rotation.pk: now.astimezone(a.rotation.zone).date() for a in current}
    holidays: dict[int, set[date]] = defaultdict(set)
    for rotation_id, day in Holiday.objects.filter(
        rotation_id__in=ids, day__in=set(todays.values())
    ).values_list("rotation_id", "day"):
        holidays[rotation_id].add(day)
    ticks = {
        (t.rotation_id, t.day): t
        for t in TriageDay.objects.filter(
            rotation_id__in=ids, day__in=set(todays.values())
        ).select_related("done_by__engineer")
    }
    lines = []
    for a in current:
        pk, zone, today = a.rotation.pk, a.rotation.zone, todays[a.rotation.pk]
        setup = setups.get(pk)
        release = releases.get(pk)
        if release is not None:
            done, total = release.done, release.total
        else:
            runbook = setup.release_runbook if setup else None
            done, total = 0, len(checklist.steps_from(runbook.body if runbook else None))
        due = days.triage_due(today, setup.triage_due_at if setup else DEFAULT_DUE_AT, zone)
        tick = ticks.get((pk, today))
        if not days.is_business_day(today, holidays.get(pk, ())):
            state = "off"
        elif tick is not None:
            state = "done"
        else:
            state = "overdue" if due <= now else "due"
        lines.append(
            WeekLine(a, done, total, today, state, due, name_of(tick.done_by if tick else None))
        )
    return lines


def week_panel(my_zone: str, found: Stamps | None, now: datetime) -> str:
    """The panel's HTML in my zone, remembered while no week's row changes (the incidents
    topic), nor a roster (schedule), a release runbook (runbooks) or the account named as
    having triaged (people); rendered again at the next handoff, triage due hour or midnight
    in a rotation's zone."""

    def render_panel() -> tuple[str, datetime]:
        answers = on_call_now(None, now, found)
        lines = week_lines(answers, now)
        with timezone.override(ZoneInfo(my_zone) if my_zone else None):
            html = render_to_string("handoff/week_panel.html", {"lines": lines})
        edges = [now + timedelta(hours=1)]
        for line in lines:
            zone = line.answer.rotation.zone
            midnight = datetime.combine(line.today + timedelta(days=1), time(0), zone)
            edges += [t for t in (line.due_at, midnight, line.answer.shift_end) if t and t > now]
        return mark_safe(html), min(edges)

    topics = pick(found, "incidents", "schedule", "runbooks", "people")
    return remember(("week_panel", my_zone), topics, now, render_panel)
