"""Who is on call: the one read behind the dashboard, the API and the ``oncall`` command.

It asks the effective schedule (``rotation.effective``) about the instant and the handoff
after it, so a cover or override shows wherever the roster would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.stamp import Stamps, pick, remember
from rotation import schedule
from rotation.effective import (
    LONGEST_SLOT,
    EffectiveSchedule,
    effective_schedule,
    effective_schedules,
)
from rotation.models import Engineer, Rotation
from rotation.schedule import Duty
from rotation.stretches import Stretch

TICK = timedelta(microseconds=1)


@dataclass
class OnCall:
    """One rotation's answer, with Engineer objects for the people."""

    rotation: Rotation
    at: datetime
    primary: Engineer | None = None
    secondary: Engineer | None = None
    shadows: list[Engineer] = field(default_factory=list)
    shift_start: datetime | None = None
    shift_end: datetime | None = None
    next_primary: Engineer | None = None
    next_secondary: Engineer | None = None
    # Whom the primary and secondary cover (None when they hold the role as rostered).
    primary_covering: Engineer | None = None
    secondary_covering: Engineer | None = None
    # The first instant after ``at`` at which the answer may differ (a handoff, an override's
    # edge); None when only a write can change it.
    changes_at: datetime | None = None

    @property
    def people(self) -> list[tuple[str, Engineer, Engineer | None]]:
        """(role, person, whom they cover) in the order a page lists them."""
        roles = [
            ("Primary", self.primary, self.primary_covering),
            ("Secondary", self.secondary, self.secondary_covering),
        ]
        held = [(role, p, covering) for role, p, covering in roles if p]
        return held + [("Shadow", p, None) for p in self.shadows]

    def as_json(self) -> dict[str, Any]:
        """The object of DESIGN.md's ``oncall --json`` contract; times in UTC with ``Z``."""
        return {
            "rotation": self.rotation.slug,
            "at": iso_z(self.at),
            "primary": person(self.primary),
            "secondary": person(self.secondary),
            "shadow": [person(engineer) for engineer in self.shadows],
            "shift_start": iso_z(self.shift_start),
            "shift_end": iso_z(self.shift_end),
            "next": {
                "primary": person(self.next_primary),
                "secondary": person(self.next_secondary),
            },
        }


def iso_z(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def person(engineer: Engineer | None) -> dict[str, str] | None:
    if engineer is None:
        return None
    return {"name": engineer.name, "email": engineer.email}


def on_call(rotations: Sequence[Rotation], at: datetime) -> list[OnCall]:
    """Who holds each role of each rotation at ``at``, and who takes over at the next handoff."""
    # A slot lasts at most LONGEST_SLOT, so the window reaches past the next handoff.
    return [
        _answer(effective, at)
        for effective in effective_schedules(rotations, at, at + LONGEST_SLOT)
    ]


def _answer(effective: EffectiveSchedule, at: datetime) -> OnCall:
    rotation, plan = effective.rotation, effective.plan
    if plan is None:
        return OnCall(rotation=rotation, at=at)
    bounds = schedule.slot_bounds(plan, at)
    if bounds is None:
        # Not started yet: nobody now, and "next" is who opens the rotation.
        opening = effective_schedule(rotation, plan.start, plan.start + TICK, plan=plan)
        return OnCall(
            changes_at=plan.start,
            rotation=rotation,
            at=at,
            shift_end=plan.start,
            next_primary=_person(opening, opening.holder(Duty.PRIMARY, plan.start)),
            next_secondary=_person(opening, opening.holder(Duty.SECONDARY, plan.start)),
        )
    start, end = bounds
    primary, secondary = effective.holder(Duty.PRIMARY, at), effective.holder(Duty.SECONDARY, at)
    return OnCall(
        changes_at=min([end, *effective.edges_after(at)]),
        rotation=rotation,
        at=at,
        primary=_person(effective, primary),
        secondary=_person(effective, secondary),
        shadows=[effective.people[s.member] for s in effective.shadows_at(at)],
        shift_start=start,
        shift_end=end,
        next_primary=_person(effective, effective.holder(Duty.PRIMARY, end)),
        next_secondary=_person(effective, effective.holder(Duty.SECONDARY, end)),
        primary_covering=effective.person(primary.covering if primary else None),
        secondary_covering=effective.person(secondary.covering if secondary else None),
    )


def _person(effective: EffectiveSchedule, stretch: Stretch | None) -> Engineer | None:
    return effective.people[stretch.member] if stretch else None


def on_call_now(slug: str | None, now: datetime, stamps: Stamps | None) -> list[OnCall]:
    """``on_call`` for every rotation (or ``slug``'s) at ``now``, remembered while provably
    unchanged: the same schedule stamp (``stamps`` must hold it) and no handoff or override
    edge crossed."""

    def compute() -> tuple[list[OnCall], datetime | None]:
        answers = on_call(rotations_named(slug), now)
        edges = [answer.changes_at for answer in answers if answer.changes_at is not None]
        return answers, min(edges, default=None)

    answers = remember(("on_call", slug), pick(stamps, "schedule"), now, compute)
    return [dataclasses.replace(answer, at=now) for answer in answers]


class OnCallQueryError(ValueError):
    """A bad ``rotation`` or ``at`` in a question; the message is for the person who asked."""


def parse_at(text: str | None, default: datetime) -> datetime:
    """An ISO 8601 instant with an offset or ``Z``; ``default`` when absent."""
    if text is None or not text.strip():
        return default
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise OnCallQueryError(
            f"'at' must be an ISO 8601 instant like 2026-12-01T18:00:00Z, not {text!r}"
        ) from None
    if when.tzinfo is None:
        raise OnCallQueryError(f"'at' needs a UTC offset or Z: {text!r} is ambiguous")
    return when.astimezone(UTC)


def rotations_named(slug: str | None) -> list[Rotation]:
    """Every rotation, or the one with ``slug``; OnCallQueryError naming the known ones."""
    if not slug:
        return list(Rotation.objects.all())
    found = list(Rotation.objects.filter(slug=slug))
    if not found:
        known = ", ".join(Rotation.objects.values_list("slug", flat=True)) or "none yet"
        raise OnCallQueryError(f"unknown rotation {slug!r} (known: {known})")
    return found
