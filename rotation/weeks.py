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

from rotation import schedule
from rotation.schedule import Duty
from rotation.zones import Transition, transitions

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Week:
    """One slot as scheduled, with the overrides that cut into it and any clock change."""

    start: datetime
    end: datetime
    primary: str
    secondary: str
    shadows: tuple[str, ...]
    overrides: tuple[schedule.OverrideWindow, ...]
    clock_changes: tuple[Transition, ...]

    @property
    def hours(self) -> float:
        """Elapsed hours, not wall-clock: 169 in the week the clocks go back."""
        return (self.end - self.start).total_seconds() / 3600

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end


def weeks_between(
    rotation: schedule.RotationPlan,
    overrides: Sequence[schedule.OverrideWindow],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
) -> list[Week]:
    """The weeks overlapping [start, end), in order; clock changes are those of ``zone``."""
    shifts = schedule.shifts_between(rotation, start, end)
    weeks = []
    for primary in (s for s in shifts if s.role == Duty.PRIMARY):
        same_slot = [s for s in shifts if s.start == primary.start]
        weeks.append(
            Week(
                start=primary.start,
                end=primary.end,
                primary=primary.member,
                secondary=next(s.member for s in same_slot if s.role == Duty.SECONDARY),
                shadows=tuple(s.member for s in same_slot if s.role == Duty.SHADOW),
                overrides=tuple(
                    o for o in overrides if o.start < primary.end and o.end > primary.start
                ),
                clock_changes=transitions(zone, primary.start, primary.end),
            )
        )
    return weeks


def time_on_call(
    final: Iterable[schedule.PlannedShift], start: datetime, end: datetime
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
