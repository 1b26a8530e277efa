"""The rotation engine: roster and calendar in, shifts out. Pure Python: no Django, no I/O.

Vocabulary
- A *calendar* says when handoffs happen: a weekday and a wall-clock time in an IANA zone.
- An *era* is one roster order with one calendar, in force from an instant (always a handoff)
  until the next era begins. Editing a roster appends an era that starts at the next handoff,
  so shifts that have started are never rewritten.
- A *slot* is one handoff-to-handoff stretch of an era; slot ``j`` of an era has primary
  ``order[(first + j) % n]`` and secondary ``order[(first + j + 1) % n]``. That is the chain
  rule: this slot's secondary is the next slot's primary. Each era's ``first`` is derived from
  the era before it so that the chain carries across roster edits.
- A *shadow week* books a new engineer beside the primary for the slot that starts on a
  handoff date; they must not hold primary or secondary before it ends.
- A person's *stint* is their secondary slot and the primary slot after it. A *stint swap*
  exchanges two people's whole stints, so the chain rule still holds around both. A swap
  applies only while both people still hold the stints it names (``broken_swaps`` lists the
  others: a roster edit since can have moved them).
- Overrides, covers and the *effective schedule* they make are ``rotation/stretches.py``'s.

Every instant is an aware ``datetime``; the engine returns UTC instants. Handoffs are computed
as wall-clock times in the rotation's zone and converted to UTC only to compare, so a handoff
stays at 10:00 local across DST and the shift spanning a change lasts 167 or 169 hours.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

WEEK = timedelta(days=7)
HALF_WEEK = timedelta(days=3, hours=12)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TUESDAY = 1


class Duty(enum.StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    SHADOW = "shadow"


class ScheduleError(ValueError):
    """The rotation cannot be scheduled as given (see ``problems()`` for the full list)."""


@dataclass(frozen=True)
class Calendar:
    """Weekly handoffs at a wall-clock time in a zone (default Tuesday 10:00 Los Angeles)."""

    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/Los_Angeles"))
    weekday: int = TUESDAY
    at: time = time(10, 0)

    def handoff_at(self, day: date) -> datetime:
        """The UTC instant of the handoff on local date ``day``.

        A wall time that does not exist (inside a spring-forward gap) resolves with the offset in
        force before the gap, as ``fold=0`` does, i.e. one hour later on the wall; a repeated
        wall time (fall-back) takes its first occurrence.
        """
        return datetime.combine(day, self.at, tzinfo=self.time_zone).astimezone(UTC)

    def is_handoff_day(self, day: date) -> bool:
        return day.weekday() == self.weekday

    def handoff_day_at_or_before(self, when: datetime) -> date:
        """Local date of the last handoff at or before ``when``."""
        local = when.astimezone(self.time_zone)
        day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
        # Compare in UTC: aware datetimes sharing a ZoneInfo compare by wall time.
        if self.handoff_at(day) > when.astimezone(UTC):
            day -= WEEK
        return day

    def handoff_day_after(self, when: datetime) -> date:
        """Local date of the first handoff strictly after ``when``."""
        return self.handoff_day_at_or_before(when) + WEEK


@dataclass(frozen=True)
class Era:
    """One roster order and calendar, in force from ``start`` until the next era's start."""

    start: datetime
    members: tuple[str, ...]
    calendar: Calendar = field(default_factory=Calendar)


@dataclass(frozen=True)
class ShadowWeek:
    """``member`` shadows the primary for the slot that starts on the handoff of ``week_of``."""

    member: str
    week_of: date


@dataclass(frozen=True)
class StintSwap:
    """``member`` gives the stint starting at ``start`` to ``other`` and takes ``other``'s stint
    starting at ``other_start`` (both the UTC handoffs that begin the secondary slot).

    ``ref`` identifies the stored swap; swaps apply in list order, each to the schedule the
    ones before it left."""

    member: str
    start: datetime
    other: str
    other_start: datetime
    ref: int | None = None


@dataclass(frozen=True, order=True)
class PlannedShift:
    """Someone in one role from ``start`` to ``end`` (UTC); ``swapped_from`` is the rostered
    person a stint swap took the shift from."""

    start: datetime
    end: datetime
    role: Duty
    member: str
    swapped_from: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Problem:
    """A rule the rotation breaks; ``member`` names whom it is about, when it is one person,
    ``role`` and ``week`` (the slot's start) where in the schedule."""

    code: str
    message: str
    member: str | None = None
    role: str | None = None
    week: datetime | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None, datetime | None]:
        """What identifies the problem across two versions of a schedule (not its wording)."""
        return self.code, self.member, self.role, self.week


@dataclass(frozen=True)
class _Slot:
    era: int
    index: int
    start: datetime
    end: datetime
    primary: str
    secondary: str


@dataclass(frozen=True)
class RotationPlan:
    """A rotation as the engine sees it: eras in start order, plus shadow bookings."""

    eras: tuple[Era, ...]
    shadows: tuple[ShadowWeek, ...] = ()
    swaps: tuple[StintSwap, ...] = ()

    @classmethod
    def weekly(
        cls,
        members: Sequence[str],
        starts_on: date,
        *,
        time_zone: str = "America/Los_Angeles",
        weekday: int = TUESDAY,
        at: time = time(10, 0),
        shadows: Iterable[ShadowWeek] = (),
    ) -> RotationPlan:
        """A rotation with one era whose week 0 begins at the handoff on ``starts_on``."""
        calendar = Calendar(ZoneInfo(time_zone), weekday, at)
        era = Era(calendar.handoff_at(starts_on), tuple(members), calendar)
        return cls((era,), tuple(shadows))

    @property
    def start(self) -> datetime:
        return self.eras[0].start

    @cached_property
    def _starts(self) -> list[datetime]:
        return [era.start.astimezone(UTC) for era in self.eras]

    @cached_property
    def _first_primary(self) -> list[int]:
        """Index into each era's order of its slot-0 primary, chained from the era before."""
        firsts = [0]
        for number in range(1, len(self.eras)):
            before, era = self.eras[number - 1], self.eras[number]
            if len(before.members) < 2 or len(era.members) < 2:
                firsts.append(0)
                continue
            last = self._slot_count(number - 1) - 1
            handed_to = (firsts[-1] + last + 1) % len(before.members)
            firsts.append(_continue_chain(before.members, handed_to, era.members))
        return firsts

    def _era_end(self, number: int) -> datetime | None:
        return self._starts[number + 1] if number + 1 < len(self.eras) else None

    def _slot_count(self, number: int) -> int:
        end = self._era_end(number)
        assert end is not None, "the last era has no end"
        era = self.eras[number]
        first_handoff = _first_handoff_day(era)
        if era.calendar.handoff_at(first_handoff) >= end:
            return 1
        last_handoff = era.calendar.handoff_day_at_or_before(end - timedelta(microseconds=1))
        return (last_handoff - first_handoff).days // 7 + 2

    def _slot(self, number: int, index: int) -> _Slot:
        era = self.eras[number]
        order, first = era.members, self._first_primary[number]
        era_end = self._era_end(number)
        first_handoff = _first_handoff_day(era)
        start = (
            era.start if index == 0 else era.calendar.handoff_at(first_handoff + (index - 1) * WEEK)
        )
        end = era.calendar.handoff_at(first_handoff + index * WEEK)
        if era_end is not None and end >= era_end:
            end = era_end
        return _Slot(
            era=number,
            index=index,
            start=start.astimezone(UTC),
            end=end,
            primary=order[(first + index) % len(order)],
            secondary=order[(first + index + 1) % len(order)],
        )

    def _slot_at(self, when: datetime) -> _Slot | None:
        when = when.astimezone(UTC)
        number = bisect.bisect_right(self._starts, when) - 1
        if number < 0:
            return None
        era = self.eras[number]
        if len(era.members) < 2:
            raise ScheduleError(f"fewer than two members from {era.start.isoformat()}")
        first_handoff = _first_handoff_day(era)
        if when < era.calendar.handoff_at(first_handoff):
            return self._slot(number, 0)
        index = (era.calendar.handoff_day_at_or_before(when) - first_handoff).days // 7 + 1
        return self._slot(number, index)

    def _slots(self, start: datetime, end: datetime) -> Iterator[_Slot]:
        """Slots that overlap [start, end), in order."""
        slot = self._slot_at(max(start, self.start))
        while slot is not None and slot.start < end:
            yield slot
            slot = self._next_slot(slot)

    def _next_slot(self, slot: _Slot) -> _Slot:
        number = slot.era + 1
        if number < len(self.eras) and slot.end == self._starts[number]:
            if len(self.eras[number].members) < 2:
                raise ScheduleError(f"fewer than two members from {slot.end.isoformat()}")
            return self._slot(number, 0)
        return self._slot(slot.era, slot.index + 1)

    def stint_slots(self, start: datetime) -> tuple[_Slot, _Slot] | None:
        """The two slots of the stint beginning at handoff ``start`` (secondary, then primary);
        None when no slot begins there."""
        first = self._slot_at(start)
        if first is None or first.start != start.astimezone(UTC):
            return None
        return first, self._next_slot(first)

    @cached_property
    def _swapped(self) -> tuple[dict[tuple[datetime, Duty], str], tuple[StintSwap, ...]]:
        """Who holds each cell (slot start, role) a swap changed, and the swaps that could not
        apply because a person no longer held the stint they named."""
        return _apply_swaps(self.eras, self.swaps)

    def shadow_window(self, booking: ShadowWeek) -> tuple[datetime, datetime] | None:
        """The slot a shadow booking covers, or None when ``week_of`` is not a handoff date."""
        for number in range(len(self.eras) - 1, -1, -1):
            calendar = self.eras[number].calendar
            handoff = calendar.handoff_at(booking.week_of)
            if handoff >= self._starts[number]:
                if not calendar.is_handoff_day(booking.week_of):
                    return None
                slot = self._slot_at(handoff)
                if slot is None or slot.start != handoff:
                    return None
                return slot.start, slot.end
        return None


@functools.lru_cache(maxsize=64)
def _apply_swaps(
    eras: tuple[Era, ...], swaps: tuple[StintSwap, ...]
) -> tuple[dict[tuple[datetime, Duty], str], tuple[StintSwap, ...]]:
    """Who holds each cell (slot start, role) a swap changed, and the swaps that could not
    apply because a person no longer held the stint they named."""
    # Cached across requests: each reader builds its plan anew from the same rows, and with
    # hundreds of swaps this is most of the engine's work for a short window.
    plan = RotationPlan(eras)
    cells: dict[tuple[datetime, Duty], str] = {}
    rostered: dict[tuple[datetime, Duty], str] = {}
    broken: list[StintSwap] = []
    for swap in swaps:
        mine, theirs = plan.stint_slots(swap.start), plan.stint_slots(swap.other_start)
        if mine is None or theirs is None or mine[0].start == theirs[0].start:
            broken.append(swap)
            continue
        stints = {swap.member: _cells(mine), swap.other: _cells(theirs)}
        for slots in (mine, theirs):
            rostered[slots[0].start, Duty.SECONDARY] = slots[0].secondary
            rostered[slots[1].start, Duty.PRIMARY] = slots[1].primary
        if any(
            cells.get(cell, rostered[cell]) != member
            for member, found in stints.items()
            for cell in found
        ):
            broken.append(swap)
            continue
        for member, found in (
            (swap.other, stints[swap.member]),
            (swap.member, stints[swap.other]),
        ):
            for cell in found:
                if rostered[cell] == member:
                    cells.pop(cell, None)
                else:
                    cells[cell] = member
    return cells, tuple(broken)


def _cells(stint: tuple[_Slot, _Slot]) -> tuple[tuple[datetime, Duty], tuple[datetime, Duty]]:
    return (stint[0].start, Duty.SECONDARY), (stint[1].start, Duty.PRIMARY)


def broken_swaps(rotation: RotationPlan) -> tuple[StintSwap, ...]:
    """The swaps that do not apply: a person no longer holds the stint the swap names."""
    return rotation._swapped[1]


def stint_of(rotation: RotationPlan, member: str, start: datetime) -> bool:
    """Whether ``member`` holds the stint beginning at ``start``, swaps applied."""
    stint = rotation.stint_slots(start)
    if stint is None:
        return False
    cells = rotation._swapped[0]
    return all(
        cells.get(cell, rostered) == member
        for cell, rostered in zip(
            _cells(stint), (stint[0].secondary, stint[1].primary), strict=True
        )
    )


def _first_handoff_day(era: Era) -> date:
    """The local date of the handoff that ends an era's first slot.

    Normally a week after the era starts. When the calendar changes (a new time, day or zone),
    the first slot runs to the first new handoff at least half a week away, so nobody's turn
    shrinks to an hour or a day: a slot lasts between 3.5 and 10.5 days.
    """
    return era.calendar.handoff_day_after(era.start + HALF_WEEK)


def _continue_chain(before: Sequence[str], handed_to: int, after: Sequence[str]) -> int:
    """Where the new order starts: the outgoing secondary, else whoever followed them."""
    for step in range(len(before)):
        member = before[(handed_to + step) % len(before)]
        if member in after:
            return after.index(member)
    return 0


def with_roster(
    rotation: RotationPlan,
    members: Sequence[str],
    effective: datetime,
    calendar: Calendar | None = None,
) -> RotationPlan:
    """The rotation with a new era from ``effective`` on; later eras are superseded.

    ``effective`` must be a handoff (``next_handoff``) so that no started slot changes.
    """
    effective = effective.astimezone(UTC)
    kept = tuple(era for era in rotation.eras if era.start.astimezone(UTC) < effective)
    calendar = calendar or (kept[-1].calendar if kept else rotation.eras[0].calendar)
    if kept and kept[-1].members == tuple(members) and kept[-1].calendar == calendar:
        return dataclasses.replace(rotation, eras=kept)  # nothing changes from `effective` on
    return dataclasses.replace(rotation, eras=(*kept, Era(effective, tuple(members), calendar)))


def next_handoff(rotation: RotationPlan, after: datetime) -> datetime:
    """The first slot boundary strictly after ``after`` (the rotation's start, if later)."""
    if after < rotation.start:
        return rotation.start
    slot = rotation._slot_at(after)
    assert slot is not None
    return slot.end


def shifts_between(rotation: RotationPlan, start: datetime, end: datetime) -> list[PlannedShift]:
    """Scheduled shifts (primary, secondary, shadow) overlapping [start, end), by start time.

    Overrides are not applied: see ``effective_shifts`` for the final schedule.
    """
    shifts: list[PlannedShift] = []
    swapped = rotation._swapped[0]
    for slot in rotation._slots(start, end):
        for role, rostered in ((Duty.PRIMARY, slot.primary), (Duty.SECONDARY, slot.secondary)):
            member = swapped.get((slot.start, role), rostered)
            shifts.append(
                PlannedShift(
                    slot.start,
                    slot.end,
                    role,
                    member,
                    swapped_from=rostered if member != rostered else None,
                )
            )
    shifts.extend(_shadow_shifts(rotation, start, end))
    shifts.sort(key=lambda shift: (shift.start, list(Duty).index(shift.role), shift.member))
    return shifts


def _shadow_shifts(rotation: RotationPlan, start: datetime, end: datetime) -> list[PlannedShift]:
    shifts = []
    for booking in rotation.shadows:
        window = rotation.shadow_window(booking)
        if window is not None and window[0] < end and window[1] > start:
            shifts.append(PlannedShift(window[0], window[1], Duty.SHADOW, booking.member))
    return shifts


def slot_bounds(rotation: RotationPlan, at: datetime) -> tuple[datetime, datetime] | None:
    """The handoffs around ``at`` (start, end); None before the rotation starts."""
    slot = rotation._slot_at(at)
    return None if slot is None else (slot.start, slot.end)


def first_shift_start(rotation: RotationPlan, member: str, before: datetime) -> datetime | None:
    """When ``member`` first holds primary or secondary, if that is before ``before``."""
    for number, era in enumerate(rotation.eras):
        if era.start >= before:
            break
        if member not in era.members:
            continue
        n, position, first = (
            len(era.members),
            era.members.index(member),
            rotation._first_primary[number],
        )
        index = 0 if position == first else (position - first - 1) % n
        slot = rotation._slot(number, index)
        era_end = rotation._era_end(number)
        if era_end is None or slot.start < era_end:
            return slot.start
    return None
