"""What the calendar page and the "me" page show, read from the database through the engine.

Both ask the engine rather than the stored shifts, so any week, however far back or ahead,
reads the same as the dashboard and the feeds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from rotation import schedule, weeks
from rotation.models import Engineer, Override, Role, Rotation, schedule_of

WEEK = timedelta(days=7)
# The calendar page shows this many weeks, starting this many before the one asked for.
WEEKS_SHOWN = 16
WEEKS_BEFORE = 4
# "Me" lists shifts this far ahead: two quarters, for sprint planning.
MY_HORIZON = timedelta(days=183)


@dataclass(frozen=True)
class OverrideInWeek:
    role: str
    person: Engineer
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True)
class WeekRow:
    week: weeks.Week
    primary: Engineer
    secondary: Engineer
    shadows: list[Engineer]
    overrides: list[OverrideInWeek]
    is_current: bool
    is_past: bool


@dataclass(frozen=True)
class ScheduleGrid:
    rows: list[WeekRow]
    roster: list[Engineer]
    has_roster: bool
    earlier: date
    later: date
    shows_today: bool


def schedule_grid(rotation: Rotation, around: date | None, now: datetime) -> ScheduleGrid:
    """The weeks around ``around`` (default: today in the rotation's zone)."""
    today = now.astimezone(rotation.zone).date()
    around = around or today
    start = datetime.combine(around - WEEKS_BEFORE * WEEK, time(), tzinfo=rotation.zone)
    end = start + WEEKS_SHOWN * WEEK
    spec = schedule_of(rotation)
    overrides = list(
        rotation.overrides.overlapping(start - WEEK * 2, end).select_related("engineer")
    )
    found = (
        weeks.weeks_between(spec, [o.as_schedule() for o in overrides], start, end, rotation.zone)
        if spec
        else []
    )
    emails = {p for w in found for p in (w.primary, w.secondary, *w.shadows)}
    people = {e.email: e for e in Engineer.objects.filter(email__in=emails)}
    people |= {o.engineer.email: o.engineer for o in overrides}
    step = (WEEKS_SHOWN - WEEKS_BEFORE) * WEEK
    return ScheduleGrid(
        rows=[_row(week, people, overrides, now) for week in found],
        roster=[m.engineer for m in rotation.memberships.select_related("engineer")],
        has_roster=spec is not None,
        earlier=around - step,
        later=around + step,
        shows_today=around == today,
    )


def _row(
    week: weeks.Week, people: dict[str, Engineer], overrides: list[Override], now: datetime
) -> WeekRow:
    def reason(o: schedule.OverrideWindow) -> str:
        return next(
            (
                row.reason
                for row in overrides
                if (row.role, row.engineer.email, row.starts_at, row.ends_at)
                == (o.role.value, o.member, o.start, o.end)
            ),
            "",
        )

    return WeekRow(
        week=week,
        primary=people[week.primary],
        secondary=people[week.secondary],
        shadows=[people[p] for p in week.shadows],
        overrides=[
            OverrideInWeek(
                o.role.value,
                people[o.member],
                max(o.start, week.start),
                min(o.end, week.end),
                reason(o),
            )
            for o in week.overrides
        ],
        is_current=week.contains(now),
        is_past=week.end <= now,
    )


@dataclass(frozen=True)
class UpcomingShift:
    rotation: Rotation
    role: str
    start: datetime
    end: datetime
    zone: str  # shown in: the person's own zone, else the rotation's
    is_current: bool


@dataclass
class MyShifts:
    zone: str  # the person's own zone, or "" when they set none
    quarter_start: datetime
    upcoming: list[UpcomingShift] = field(default_factory=list)
    my_primary: timedelta = timedelta()
    my_secondary: timedelta = timedelta()
    team_size: int = 0
    team_total: timedelta = timedelta()

    @property
    def my_weeks(self) -> float:
        return (self.my_primary + self.my_secondary) / WEEK

    @property
    def team_average_weeks(self) -> float:
        return self.team_total / WEEK / self.team_size if self.team_size else 0.0


def my_shifts(engineer: Engineer, now: datetime) -> MyShifts:
    """``engineer``'s shifts (overrides applied) for six months across rotations, and their
    time on call since the quarter began against the average of everyone on the rosters."""
    # The quarter is the person's own, or the portal's when they set no zone.
    zone = ZoneInfo(engineer.time_zone or settings.TIME_ZONE)
    local = now.astimezone(zone).date()
    quarter = datetime.combine(
        date(local.year, 3 * ((local.month - 1) // 3) + 1, 1), time(), tzinfo=zone
    )
    mine = MyShifts(zone=engineer.time_zone, quarter_start=quarter)
    held: dict[str, timedelta] = defaultdict(timedelta)
    for rotation in Rotation.objects.all():
        spec = schedule_of(rotation)
        if spec is None:
            continue
        overrides = rotation.overrides.overlapping(quarter - WEEK * 2, now + MY_HORIZON)
        final = schedule.effective_shifts(
            spec,
            [o.as_schedule() for o in overrides.select_related("engineer")],
            quarter,
            now + MY_HORIZON,
        )
        mine.upcoming += [
            UpcomingShift(
                rotation,
                Role(s.role).label,
                s.start,
                s.end,
                engineer.time_zone or rotation.time_zone,
                s.start <= now,
            )
            for s in final
            if s.member == engineer.email and s.end > now
        ]
        held |= {member: held[member] for member in spec.eras[-1].members}
        for member, roles in weeks.time_on_call(final, quarter, now).items():
            held[member] += sum(roles.values(), timedelta())
            if member == engineer.email:
                mine.my_primary += roles[schedule.Duty.PRIMARY]
                mine.my_secondary += roles[schedule.Duty.SECONDARY]
    mine.upcoming.sort(key=lambda shift: shift.start)
    mine.team_size, mine.team_total = len(held), sum(held.values(), timedelta())
    return mine
