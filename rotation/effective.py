"""The effective schedule: the one answer to "who holds which role, from when to when".

Eras, shadow weeks and overrides (and, as they arrive, swaps and covers) applied by the engine
(``stretches.effective_stretches``), each stretch saying why its person holds it. Every reader
(dashboard, schedule pages, ``/me/``, the API and ``oncall``, the feeds, the PagerDuty sync and
drift, incident snapshots, metrics) asks this module; none assembles its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rotation import schedule, stretches, weeks
from rotation.models import Engineer, Override, Rotation, plans_of, schedule_of
from rotation.schedule import Duty
from rotation.stretches import Stretch

# A slot lasts at most 10.5 days (a calendar change), so an override that cuts a slot
# overlapping a window lies within this margin of it: the one margin every reader gets.
LONGEST_SLOT = timedelta(days=11)


@dataclass(frozen=True)
class EffectiveSchedule:
    """One rotation's effective schedule over a window, with the people it names."""

    rotation: Rotation
    plan: schedule.RotationPlan | None
    stretches: list[Stretch]
    people: dict[str, Engineer]
    overrides: dict[int, Override]

    def person(self, email: str | None) -> Engineer | None:
        return self.people.get(email) if email else None

    def holder(self, role: Duty, when: datetime) -> Stretch | None:
        return stretches.holder(self.stretches, role, when)

    def shadows_at(self, when: datetime) -> list[Stretch]:
        return [s for s in self.stretches if s.role == Duty.SHADOW and s.holds(when)]

    def of(self, email: str) -> list[Stretch]:
        return [s for s in self.stretches if s.member == email]

    def override_of(self, stretch: Stretch) -> Override | None:
        return self.overrides.get(stretch.override) if stretch.override is not None else None

    def edges_after(self, when: datetime) -> list[datetime]:
        """Instants after ``when`` at which someone's holding begins or ends, in order."""
        edges = {edge for s in self.stretches for edge in (s.start, s.end) if edge > when}
        return sorted(edges)


def override_windows(overrides: Iterable[Override]) -> list[stretches.OverrideWindow]:
    """Stored overrides as the engine takes them, oldest first (a later one wins)."""
    # An override not saved yet (a writer's candidate) is the newest.
    return [o.as_schedule() for o in sorted(overrides, key=_age)]


def _age(override: Override) -> tuple[bool, datetime, int]:
    if override.created_at is None:
        return True, datetime.min, override.id or 0
    return False, override.created_at, override.id


def effective_schedule(
    rotation: Rotation,
    start: datetime,
    end: datetime,
    *,
    plan: schedule.RotationPlan | None = None,
    overrides: Sequence[Override] | None = None,
) -> EffectiveSchedule:
    """The rotation's effective schedule: every stretch overlapping [start, end), whole.

    ``plan`` and ``overrides`` are for writers that check a schedule as it will be after their
    write (``rotation.actions``); readers pass neither and get the stored state, or pass the
    stored ``plan`` they already read (the weekly summary) to read it once.
    """
    if plan is None and overrides is None:
        (found,) = effective_schedules([rotation], start, end)
        return found
    plan = plan if plan is not None else schedule_of(rotation)
    rows = list(overrides) if overrides is not None else _overrides_near([rotation], start, end)
    return _assemble(rotation, plan, rows, start, end, {})


def effective_schedules(
    rotations: Sequence[Rotation], start: datetime, end: datetime
) -> list[EffectiveSchedule]:
    """``effective_schedule`` of each rotation, in the same order: five queries in all."""
    plans, people = plans_of(rotations)
    overrides: dict[int, list[Override]] = defaultdict(list)
    for override in _overrides_near(rotations, start, end):
        overrides[override.rotation_id].append(override)
    return [
        _assemble(rotation, plans[rotation.id], overrides[rotation.id], start, end, people)
        for rotation in rotations
    ]


def _overrides_near(
    rotations: Sequence[Rotation], start: datetime, end: datetime
) -> list[Override]:
    """The overrides that can shape any slot overlapping [start, end)."""
    return list(
        Override.objects.filter(rotation__in=rotations)
        .overlapping(start - LONGEST_SLOT, end + LONGEST_SLOT)
        .select_related("engineer", "covers")
    )


def _assemble(
    rotation: Rotation,
    plan: schedule.RotationPlan | None,
    rows: list[Override],
    start: datetime,
    end: datetime,
    people: dict[str, Engineer],
) -> EffectiveSchedule:
    if plan is None:
        return EffectiveSchedule(rotation, None, [], {}, {})
    found = stretches.effective_stretches(plan, override_windows(rows), start, end)
    people = people | {o.engineer.email: o.engineer for o in rows}
    wanted = {s.member for s in found} | {s.covering for s in found if s.covering}
    missing = wanted - people.keys()
    if missing:
        people |= {e.email: e for e in Engineer.objects.filter(email__in=missing)}
    return EffectiveSchedule(
        rotation, plan, found, people, {o.id: o for o in rows if o.id is not None}
    )


def stretches_of(
    engineer: Engineer, start: datetime, end: datetime
) -> list[tuple[EffectiveSchedule, Stretch]]:
    """``engineer``'s stretches in every rotation over [start, end), by start, each with the
    rotation's effective schedule (for its people and overrides)."""
    found = [
        (effective, stretch)
        for effective in effective_schedules(list(Rotation.objects.all()), start, end)
        for stretch in effective.of(engineer.email)
    ]
    found.sort(key=lambda pair: (pair[1].start, pair[0].rotation.name))
    return found


def shifts_begun(start: datetime, end: datetime) -> int:
    """How many weekly shifts (handoff to handoff) began in [start, end), across rotations:
    the denominator of "incidents per shift"."""
    return sum(
        len(weeks.primary_slot_starts(effective.stretches, start, end))
        for effective in effective_schedules(list(Rotation.objects.all()), start, end)
    )
