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

from rotation import health, schedule, weeks
from rotation.effective import EffectiveSchedule, effective_schedule, effective_schedules
from rotation.models import Engineer, Role, Rotation
from rotation.stretches import Stretch

WEEK = timedelta(days=7)
# The calendar page shows this many weeks, starting this many before the one asked for.
WEEKS_SHOWN = 16
WEEKS_BEFORE = 4
# "Me" lists shifts this far ahead: two quarters, for sprint planning.
MY_HORIZON = timedelta(days=183)
# The schedule page reads its weeks and the quarter in one go when they lie this close.
ONE_READ = timedelta(days=400)


@dataclass(frozen=True)
class Holding:
    """One person's hold on a role within a week, as the schedule page shows it."""

    person: Engineer
    covering: Engineer | None
    reason: str
    note: str  # the override's own reason ("Alice on holiday"), if any
    start: datetime
    end: datetime
    is_whole_week: bool


@dataclass(frozen=True)
class WeekRow:
    week: weeks.Week
    primary: list[Holding]
    secondary: list[Holding]
    shadows: list[Engineer]
    is_current: bool
    is_past: bool

    @property
    def is_covered(self) -> bool:
        return not self.week.is_rostered


@dataclass(frozen=True)
class ScheduleGrid:
    rows: list[WeekRow]
    roster: list[Engineer]
    has_roster: bool
    earlier: date | None  # None once the rotation's first week is shown: nothing before it
    later: date
    shows_today: bool
    starts_on: date
    # The schedule the rows were read from, and the window it covers (which ``also`` widens).
    effective: EffectiveSchedule
    covers: tuple[datetime, datetime]


def schedule_grid(
    rotation: Rotation,
    around: date | None,
    now: datetime,
    also: tuple[datetime, datetime] | None = None,
) -> ScheduleGrid:
    """The weeks around ``around`` (default: today in the rotation's zone), as held in the
    effective schedule: the Primary and Secondary columns name who is really on call.

    ``also`` is another window the caller wants read in the same queries (the quarter, for the
    rotation's health); it is left out when the two lie too far apart to read as one."""
    today = now.astimezone(rotation.zone).date()
    around = around or today
    start = datetime.combine(around - WEEKS_BEFORE * WEEK, time(), tzinfo=rotation.zone)
    end = start + WEEKS_SHOWN * WEEK
    covers = (start, end)
    if also is not None and max(end, also[1]) - min(start, also[0]) <= ONE_READ:
        covers = (min(start, also[0]), max(end, also[1]))
    effective = effective_schedule(rotation, *covers)
    found = [
        week
        for week in weeks.weeks_of(effective.stretches, rotation.zone)
        if week.end > start and week.start < end
    ]

    def holdings(week: weeks.Week, held: tuple[Stretch, ...]) -> list[Holding]:
        return [_holding(effective, week, stretch) for stretch in held]

    step = (WEEKS_SHOWN - WEEKS_BEFORE) * WEEK
    # "Earlier" stops at the page whose first row is the rotation's first week.
    first_page = rotation.starts_on + WEEKS_BEFORE * WEEK
    earlier = max(around - step, first_page) if around > first_page else None
    return ScheduleGrid(
        rows=[
            WeekRow(
                week=week,
                primary=holdings(week, week.primary),
                secondary=holdings(week, week.secondary),
                shadows=[effective.people[p] for p in week.shadows],
                is_current=week.contains(now),
                is_past=week.end <= now,
            )
            for week in found
        ],
        roster=[m.engineer for m in rotation.memberships.select_related("engineer")],
        has_roster=effective.plan is not None,
        earlier=earlier,
        later=around + step,
        shows_today=around == today,
        starts_on=rotation.starts_on,
        effective=effective,
        covers=covers,
    )


def _holding(effective: EffectiveSchedule, week: weeks.Week, stretch: Stretch) -> Holding:
    override = effective.override_of(stretch)
    return Holding(
        person=effective.people[stretch.member],
        covering=effective.person(stretch.covering),
        reason=stretch.reason.value,
        note=override.reason if override else "",
        start=stretch.start,
        end=stretch.end,
        is_whole_week=(stretch.start, stretch.end) == (week.start, week.end),
    )


@dataclass(frozen=True)
class UpcomingShift:
    rotation: Rotation
    role: str
    start: datetime
    end: datetime
    zone: str  # shown in: the person's own zone, else the rotation's
    is_current: bool
    covering: Engineer | None = None
    reason: str = "rostered"  # a stretches.Reason: "swap with", not "covering", for a swap


@dataclass
class MyShifts:
    zone: str  # the person's own zone, or "" when they set none
    quarter_start: datetime
    upcoming: list[UpcomingShift] = field(default_factory=list)
    my_primary: timedelta = timedelta()
    my_secondary: timedelta = timedelta()
    team_size: int = 0
    team_total: timedelta = timedelta()
    # What the figures were read from, from two days before the quarter (a rotation's own
    # quarter may begin up to a day earlier than the person's): rotation health reuses it.
    schedules: list[EffectiveSchedule] = field(default_factory=list)

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
    quarter, _ = health.quarter_of(now, zone)
    mine = MyShifts(zone=engineer.time_zone, quarter_start=quarter)
    held: dict[str, timedelta] = defaultdict(timedelta)
    rotations = list(Rotation.objects.all())
    mine.schedules = effective_schedules(rotations, quarter - timedelta(days=2), now + MY_HORIZON)
    for effective in mine.schedules:
        rotation, spec, final = effective.rotation, effective.plan, effective.stretches
        if spec is None:
            continue
        mine.upcoming += [
            UpcomingShift(
                rotation,
                Role(s.role).label,
                s.start,
                s.end,
                engineer.time_zone or rotation.time_zone,
                s.start <= now,
                effective.person(s.covering),
                s.reason.value,
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
