"""Rotation health over a quarter, measured against the SRE book's "Being On-Call" chapter.

Pure Python (no Django): the effective schedule's stretches, the incidents' start instants and
the roster in, figures and warnings out. The limits the team follows:

- **Time on call.** At most 25% of a person's time is spent on call (primary or secondary).
  On-call time comes in weeks and a quarter (13 weeks and a day or two) is not a multiple of
  a turn, so a person on a right-sized rotation of 8 holds 4 weeks in some quarters: 28 of 92
  days, 30%. A person is warned about only when they hold more than the ceiling rounded up to
  whole weeks (25% of 92 days is 3.3 weeks, so 4 weeks, 28 days, are allowed); the share shown
  is the plain one.
- **Incidents per shift.** About two incidents a shift at most: time to handle each one well,
  follow it up and write the post-mortem.
- **People for the ceiling.** In a single-site rotation each person holds a week as secondary
  and, the week after, as primary (each week's secondary is the next week's primary), so with
  ``n`` people everybody is on call 2 weeks in every ``n``: share = 2/n. The ceiling asks
  2/n <= 1/4, i.e. n >= 2 / 0.25 = 8 people. (The book's dual-site rotation, where each site
  holds half of every day, needs six a site; this portal's rotations are single-site.)
- **Out of hours.** An incident that starts before 09:00, from 18:00 or on a Saturday or Sunday
  on the wall clock of the primary at its start (their own zone, else the rotation's) is out
  of hours; it is counted against that primary. PagerDuty's pages (its high-urgency incidents,
  which ring the primary's phone whether or not anyone opens a portal incident), when the
  rotation has any, are counted the same way beside them.

A *shift* is one primary week, handoff to handoff; it belongs to the person who held primary
when it began. Incidents per shift is incidents that started while a person was primary over
the shifts they began, so far (a shift not begun yet has had no chance of an incident), while
the share of time on call is over the whole quarter, past and scheduled: the schedule is known
ahead, and a quarter heading for 40% should warn before it is over.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rotation.schedule import Duty
from rotation.stretches import Stretch
from rotation.weeks import primary_slot_starts, time_on_call

CEILING = 0.25  # of a person's time on call
INCIDENTS_PER_SHIFT = 2.0  # "about two": more than this is a warning
# Each person is on call 2 weeks (secondary, then primary) in every n: 2/n <= CEILING.
WEEKS_ON_CALL_PER_TURN = 2
PEOPLE_NEEDED = math.ceil(WEEKS_ON_CALL_PER_TURN / CEILING)  # 8
WORKDAY = (time(9), time(18))
WEEK = timedelta(days=7)


def quarter_of(when: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar quarter holding ``when`` on ``zone``'s wall clock: [1 Jan, 1 Apr) etc.

    Midnight to midnight in the zone, so a quarter with a clock change is an hour shorter or
    longer in elapsed time (Europe/London's first quarter is 90 days less an hour). Returned in
    UTC: two datetimes sharing a ZoneInfo subtract by wall time and would hide that hour."""
    local = when.astimezone(zone).date()
    first = date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
    after = (
        date(first.year + 1, 1, 1) if first.month == 10 else first.replace(month=first.month + 3)
    )
    return (
        datetime.combine(first, time(), tzinfo=zone).astimezone(UTC),
        datetime.combine(after, time(), tzinfo=zone).astimezone(UTC),
    )


def is_out_of_hours(when: datetime, zone: ZoneInfo) -> bool:
    """Before 09:00, from 18:00, or on a weekend, on ``zone``'s wall clock."""
    local = when.astimezone(zone)
    return local.weekday() >= 5 or not WORKDAY[0] <= local.time() < WORKDAY[1]


@dataclass(frozen=True)
class PersonHealth:
    email: str
    name: str
    on_call: timedelta  # primary and secondary, within the quarter
    share: float  # of the quarter's elapsed time
    shifts: int  # primary shifts they began, so far
    incidents: int  # incidents that started while they were primary
    out_of_hours: int  # of those, how many started out of hours
    allowed: timedelta  # the ceiling in whole weeks (see the module's docstring)
    pages: int = 0  # PagerDuty pages while they were primary
    pages_out_of_hours: int = 0  # of those, how many came out of hours

    @property
    def incidents_per_shift(self) -> float | None:
        return self.incidents / self.shifts if self.shifts else None

    @property
    def percent(self) -> int:
        return round(self.share * 100)

    @property
    def over_ceiling(self) -> bool:
        return self.on_call > self.allowed

    @property
    def over_incidents(self) -> bool:
        rate = self.incidents_per_shift
        return rate is not None and rate > INCIDENTS_PER_SHIFT


@dataclass(frozen=True)
class RotationHealth:
    start: datetime
    end: datetime
    zone: ZoneInfo  # the rotation's: its quarter's days
    people: list[PersonHealth]  # roster order, then anyone else who held a role
    roster_size: int
    shifts: int  # primary shifts begun so far in the quarter
    incidents: int  # incidents that started in the quarter so far
    warnings: list[str]
    pages: int = 0  # PagerDuty pages in the quarter so far

    @property
    def incidents_per_shift(self) -> float | None:
        return self.incidents / self.shifts if self.shifts else None

    @property
    def people_needed(self) -> int:
        return PEOPLE_NEEDED

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.zone).date()

    @property
    def last_day(self) -> date:
        return self.end.astimezone(self.zone).date() - timedelta(days=1)

    def of(self, email: str) -> PersonHealth | None:
        return next((p for p in self.people if p.email == email), None)


def rotation_health(
    stretches: Sequence[Stretch],
    incidents: Iterable[datetime],
    roster: Sequence[str],
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    zone: ZoneInfo,
    zones: Mapping[str, ZoneInfo] | None = None,
    names: Mapping[str, str] | None = None,
    pages: Iterable[datetime] = (),
) -> RotationHealth:
    """The health of one rotation over [start, end) (a quarter), as of ``now``.

    ``stretches`` is the effective schedule covering the quarter; ``incidents`` the start
    instants of the rotation's incidents; ``roster`` the members in order; ``zone`` the
    rotation's, ``zones`` people's own (for out of hours); ``names`` for the warnings; ``pages``
    the creation instants of the rotation's PagerDuty pages."""
    zones, names = zones or {}, names or {}
    length = end - start
    so_far = min(max(now, start), end)
    held = time_on_call(stretches, start, end)
    primaries = [s for s in stretches if s.role == Duty.PRIMARY]
    begun = primary_slot_starts(primaries, start, so_far)
    shifts = Counter(s.member for s in primaries if s.start in begun and s.start == s.slot_start)

    def count(instants: Iterable[datetime]) -> tuple[int, Counter[str], Counter[str]]:
        """How many fell in the quarter so far; per primary, how many and how many late."""
        total, counted, late = 0, Counter[str](), Counter[str]()
        for started in instants:
            if not start <= started < so_far:
                continue
            total += 1
            primary = next((s.member for s in primaries if s.holds(started)), None)
            if primary is None:
                continue
            counted[primary] += 1
            late[primary] += is_out_of_hours(started, zones.get(primary, zone))
        return total, counted, late

    total, counted, late = count(incidents)
    paged, pages_of, pages_late = count(pages)
    allowed = math.ceil(CEILING * length / WEEK) * WEEK
    everyone = list(dict.fromkeys([*roster, *held, *counted, *pages_of]))
    people = [
        PersonHealth(
            email=email,
            name=names.get(email, email),
            on_call=sum(held.get(email, {}).values(), timedelta()),
            share=sum(held.get(email, {}).values(), timedelta()) / length,
            shifts=shifts[email],
            incidents=counted[email],
            out_of_hours=late[email],
            allowed=allowed,
            pages=pages_of[email],
            pages_out_of_hours=pages_late[email],
        )
        for email in everyone
    ]
    health = RotationHealth(start, end, zone, people, len(roster), len(begun), total, [], paged)
    health.warnings.extend(warnings_of(health))
    return health


def warnings_of(health: RotationHealth) -> list[str]:
    """One sentence for each limit crossed, in the order the page lists them."""
    found = []
    if health.roster_size < PEOPLE_NEEDED:
        found.append(
            f"{health.roster_size} people: the {CEILING:.0%} ceiling needs {PEOPLE_NEEDED}."
        )
    for person in health.people:
        name = person.name
        if person.over_ceiling:
            found.append(
                f"{name} is on call {person.share:.0%} of the quarter; "
                f"the ceiling is {CEILING:.0%}."
            )
        if person.over_incidents:
            found.append(
                f"{name} had {person.incidents_per_shift:.1f} incidents a shift; "
                f"the limit is about {INCIDENTS_PER_SHIFT:.0f}."
            )
    return found
