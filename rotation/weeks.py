"""The schedule as weeks (for the calendar page) and time on call (for fairness). Pure Python.

A *week* here is one handoff-to-handoff slot: usually 168 hours, 167 or 169 when the clocks
change inside it, and 3.5 to 10.5 days where a calendar change starts a new era.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rotation.schedule import Duty
from rotation.stretches import Reason, Stretch
from rotation.zones import Transition, transitions

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Week:
    """One slot of the effective schedule: who held each role, in order, and any clock change."""

    start: datetime
    end: datetime
    primary: tuple[Stretch, ...]
    secondary: tuple[Stretch, ...]
    shadows: tuple[str, ...]
    clock_changes: tuple[Transition, ...]

    @property
    def hours(self) -> float:
        """Elapsed hours, not wall-clock: 169 in the week the clocks go back."""
        return (self.end - self.start).total_seconds() / 3600

    @property
    def is_rostered(self) -> bool:
        """Nobody covers anyone this week."""
        return all(s.reason == Reason.ROSTERED for s in (*self.primary, *self.secondary))

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end


def weeks_of(stretches: Sequence[Stretch], zone: ZoneInfo) -> list[Week]:
    """The effective schedule's stretches grouped by slot, in order; clock changes of ``zone``."""
    slots: dict[tuple[datetime, datetime], list[Stretch]] = defaultdict(list)
    for stretch in stretches:
        assert stretch.slot_start is not None and stretch.slot_end is not None
        slots[stretch.slot_start, stretch.slot_end].append(stretch)
    weeks = []
    for (start, end), held in sorted(slots.items()):
        in_order = sorted(held, key=lambda s: s.start)
        if not any(s.role == Duty.PRIMARY for s in in_order):
            continue  # a shadow week's slot seen without its roles (outside the window)
        weeks.append(
            Week(
                start=start,
                end=end,
                primary=tuple(s for s in in_order if s.role == Duty.PRIMARY),
                secondary=tuple(s for s in in_order if s.role == Duty.SECONDARY),
                shadows=tuple(s.member for s in in_order if s.role == Duty.SHADOW),
                clock_changes=transitions(zone, start, end),
            )
        )
    return weeks


def time_on_call(
    final: Iterable[Stretch], start: datetime, end: datetime
) -> dict[str, dict[Duty, timedelta]]:
    """Time each person held primary and secondary within [start, end) of the final schedule
    (overrides applied); shadow weeks are learning, not on call, and are left out."""
    held: dict[str, dict[Duty, timedelta]] = defaultdict(
        lambda: {Duty.PRIMARY: timedelta(), Duty.SECONDARY: timedelta()}
    )
    for shift in final:
        if shift.role == Duty.SHADOW:
            continue
        overlap = min(shift.end, end) - max(shift.start, start)
        if overlap > timedelta():
            held[shift.member][shift.role] += overlap
    return dict(held)


def primary_slot_starts(final: Iterable[Stretch], start: datetime, end: datetime) -> set[datetime]:
    """The handoffs in [start, end) that began a primary shift: one per weekly shift, however
    many people held primary within it (the denominator of "incidents per shift")."""
    return {
        s.slot_start
        for s in final
        if s.role == Duty.PRIMARY and s.slot_start is not None and start <= s.slot_start < end
    }
