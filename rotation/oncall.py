"""Who is on call: the one read behind the dashboard, the API and the ``oncall`` command.

It reads the materialised shifts (three queries for any number of rotations, whatever the
roster size or the years of history) and applies overrides. Where no shift is stored (before
materialisation caught up, or beyond its horizon) it asks the engine instead, so the answer is
never stale and never missing.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.stamp import remember
from rotation import schedule
from rotation.models import Engineer, Override, Rotation, Shift, schedule_of

# Stored shifts read per request: the current one and the next, for weekly rotations.
LOOKAHEAD = timedelta(days=15)


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
    # The first instant after ``at`` at which the answer may differ (a handoff, an override's
    # edge); None when only a write can change it.
    changes_at: datetime | None = None

    @property
    def people(self) -> list[tuple[str, Engineer]]:
        """(role, person) in the order a page lists them."""
        roles = [("Primary", self.primary), ("Secondary", self.secondary)]
        return [(role, p) for role, p in roles if p] + [("Shadow", p) for p in self.shadows]

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
    ids = [rotation.id for rotation in rotations]
    shifts: dict[int, list[Shift]] = defaultdict(list)
    for shift in Shift.objects.filter(
        rotation_id__in=ids, ends_at__gt=at, starts_at__lte=at + LOOKAHEAD
    ).select_related("engineer"):
        shifts[shift.rotation_id].append(shift)
    overrides: dict[int, list[Override]] = defaultdict(list)
    for override in Override.objects.filter(
        rotation_id__in=ids, ends_at__gt=at, starts_at__lte=at + LOOKAHEAD
    ).select_related("engineer"):
        overrides[override.rotation_id].append(override)
    return [
        _from_shifts(rotation, at, shifts[rotation.id], overrides[rotation.id])
        or _from_engine(rotation, at, overrides[rotation.id])
        for rotation in rotations
    ]


def _edges(overrides: list[Override]) -> set[datetime]:
    return {edge for o in overrides for edge in (o.starts_at, o.ends_at)}


def on_call_now(slug: str | None, now: datetime, stamp: int | None) -> list[OnCall]:
    """``on_call`` for every rotation (or ``slug``'s) at ``now``, remembered while provably
    unchanged: the same database change stamp and no handoff or override edge crossed."""

    def compute() -> tuple[list[OnCall], datetime | None]:
        answers = on_call(rotations_named(slug), now)
        edges = [answer.changes_at for answer in answers if answer.changes_at is not None]
        return answers, min(edges, default=None)

    answers = remember(("on_call", slug), stamp, now, compute)
    return [dataclasses.replace(answer, at=now) for answer in answers]


def _covering(overrides: list[Override], role: str, when: datetime) -> Engineer | None:
    """The engine's rule (the latest override wins), answered with the Engineer."""
    member = schedule.overridden_by([o.as_schedule() for o in overrides], schedule.Duty(role), when)
    return next((o.engineer for o in overrides if o.engineer.email == member), None)


def _from_shifts(
    rotation: Rotation, at: datetime, shifts: list[Shift], overrides: list[Override]
) -> OnCall | None:
    now = {s.role: s for s in shifts if s.starts_at <= at and s.role != "shadow"}
    if "primary" not in now or "secondary" not in now:
        return None
    end = now["primary"].ends_at
    following = {s.role: s for s in shifts if s.starts_at == end and s.role != "shadow"}
    if "primary" not in following or "secondary" not in following:
        return None
    edges = {edge for s in shifts for edge in (s.starts_at, s.ends_at)} | _edges(overrides)
    return OnCall(
        changes_at=min(edge for edge in edges if edge > at),
        rotation=rotation,
        at=at,
        primary=_covering(overrides, "primary", at) or now["primary"].engineer,
        secondary=_covering(overrides, "secondary", at) or now["secondary"].engineer,
        shadows=[s.engineer for s in shifts if s.role == "shadow" and s.starts_at <= at],
        shift_start=now["primary"].starts_at,
        shift_end=end,
        next_primary=_covering(overrides, "primary", end) or following["primary"].engineer,
        next_secondary=_covering(overrides, "secondary", end) or following["secondary"].engineer,
    )


def _from_engine(rotation: Rotation, at: datetime, overrides: list[Override]) -> OnCall:
    spec = schedule_of(rotation)
    if spec is None:
        return OnCall(rotation=rotation, at=at)
    answer = schedule.on_call_at(spec, at, [o.as_schedule() for o in overrides])
    if answer is None:
        # Not started yet: nobody now, and "next" is who opens the rotation.
        first = schedule.on_call_at(spec, spec.start)
        assert first is not None
        people = {
            e.email: e for e in Engineer.objects.filter(email__in=[first.primary, first.secondary])
        }
        return OnCall(
            changes_at=spec.start,
            rotation=rotation,
            at=at,
            shift_end=spec.start,
            next_primary=people[first.primary],
            next_secondary=people[first.secondary],
        )
    emails = {
        answer.primary,
        answer.secondary,
        *answer.shadows,
        answer.next_primary,
        answer.next_secondary,
    }
    people = {e.email: e for e in Engineer.objects.filter(email__in=emails)}
    edges = {answer.shift_end} | {edge for edge in _edges(overrides) if edge > at}
    return OnCall(
        changes_at=min(edges),
        rotation=rotation,
        at=at,
        primary=people[answer.primary],
        secondary=people[answer.secondary],
        shadows=[people[email] for email in answer.shadows],
        shift_start=answer.shift_start,
        shift_end=answer.shift_end,
        next_primary=people[answer.next_primary],
        next_secondary=people[answer.next_secondary],
    )


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
