"""The rules a rotation must keep, checked before anything is saved. Pure Python, like the engine.

Each check returns Problems whose messages name the person and the date, for people to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from rotation.schedule import (
    WEEKDAYS,
    Duty,
    OverrideWindow,
    Problem,
    RotationPlan,
    ScheduleError,
    ShadowWeek,
    effective_shifts,
    first_shift_start,
    shifts_between,
)


def problems(rotation: RotationPlan) -> list[Problem]:
    """Every rule the rotation breaks; an empty list means it can be scheduled."""
    found: list[Problem] = []
    for era in rotation.eras:
        when = era.start.astimezone(era.calendar.time_zone).date().isoformat()
        if len(era.members) < 2:
            found.append(Problem("too-few", f"a rotation needs at least two members (from {when})"))
        seen: set[str] = set()
        for member in era.members:
            if member in seen:
                found.append(Problem("duplicate", f"{member} is listed twice", member))
            seen.add(member)
    if found:
        return found
    for booking in rotation.shadows:
        found.extend(_shadow_problems(rotation, booking))
    return found


def _shadow_problems(rotation: RotationPlan, booking: ShadowWeek) -> list[Problem]:
    member, week = booking.member, booking.week_of.isoformat()
    calendar = rotation.eras[0].calendar
    if booking.week_of < rotation.start.astimezone(calendar.time_zone).date():
        return [
            Problem(
                "shadow-early",
                f"{member}'s shadow week {week} is before the rotation starts",
                member,
            )
        ]
    window = rotation.shadow_window(booking)
    if window is None:
        day = WEEKDAYS[calendar.weekday].title()
        return [
            Problem(
                "shadow-day",
                f"{member}'s shadow week {week} is not a handoff day (handoffs are on {day}s)",
                member,
            )
        ]
    first = first_shift_start(rotation, member, before=window[1])
    if first is not None and first < window[1]:
        return [
            Problem(
                "shadow-late",
                f"{member} would be on call from {first.date().isoformat()}, before their shadow "
                f"week {week} ends; place them later in the order or shadow earlier",
                member,
            )
        ]
    return []


def override_problems(
    rotation: RotationPlan, overrides: Sequence[OverrideWindow], candidate: OverrideWindow
) -> list[Problem]:
    """What would go wrong if ``candidate`` were added to ``overrides``."""
    if candidate.end <= candidate.start:
        return [Problem("override-window", "an override must end after it starts")]
    if candidate.start < rotation.start:
        return [Problem("override-window", "the override starts before the rotation does")]
    if candidate.role == Duty.SHADOW:
        return [Problem("override-role", "overrides replace the primary or the secondary")]
    every = [*overrides, candidate]
    shifts = effective_shifts(rotation, every, candidate.start, candidate.end)
    other = Duty.SECONDARY if candidate.role == Duty.PRIMARY else Duty.PRIMARY
    for shift in shifts:
        if shift.role != other or shift.member != candidate.member:
            continue
        if shift.start < candidate.end and shift.end > candidate.start:
            return [
                Problem(
                    "same-person",
                    f"{candidate.member} is already {other} from {shift.start.isoformat()}; "
                    "primary and secondary must be two different people",
                    candidate.member,
                )
            ]
    return []


def weeks_changed(
    before: RotationPlan, after: RotationPlan, start: datetime, end: datetime
) -> dict[str, dict[str, list[date]]]:
    """Who gains and who loses which primary/secondary weeks in [start, end), by member.

    Weeks are named by the local date their shift starts on: ``{"alice": {"gains": [...],
    "loses": [...]}}``; members whose weeks stay the same are left out.
    """

    def weeks(rotation: RotationPlan) -> set[tuple[str, date]]:
        return {
            (s.member, s.start.astimezone(rotation.eras[-1].calendar.time_zone).date())
            for s in shifts_between(rotation, start, end)
            if s.role != Duty.SHADOW and s.start >= start
        }

    old, new = weeks(before), weeks(after)
    changes: dict[str, dict[str, list[date]]] = {}
    for label, found in (("gains", new - old), ("loses", old - new)):
        for member, day in sorted(found):
            changes.setdefault(member, {"gains": [], "loses": []})[label].append(day)
    return changes


def check(rotation: RotationPlan) -> RotationPlan:
    """The rotation itself, or ScheduleError with every problem found."""
    found = problems(rotation)
    if found:
        raise ScheduleError("; ".join(problem.message for problem in found))
    return rotation
