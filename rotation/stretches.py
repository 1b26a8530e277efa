"""The effective schedule, pure: what really happens once overrides are applied to the slots.

Vocabulary (the roster's words are ``rotation/schedule.py``'s)
- An *override* puts someone else in one role for a window; it beats the schedule. A *cover*
  is an override asked for by (or tied to) the person it covers.
- The *effective schedule* is what really happens: slots cut where overrides begin and end,
  as *stretches*, each saying why its person holds the role (rostered, override, swap, cover)
  and whom it covers. Every reader of "who holds which role when" reads stretches.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rotation.schedule import Duty, PlannedShift, RotationPlan, shifts_between, slot_bounds

SLOT_MARGIN = timedelta(days=11)


class Reason(enum.StrEnum):
    """Why a stretch of the effective schedule is held by its person."""

    ROSTERED = "rostered"
    OVERRIDE = "override"
    SWAP = "swap"
    COVER = "cover"


@dataclass(frozen=True)
class OverrideWindow:
    """``member`` holds ``role`` from ``start`` to ``end``; later overrides in a list win.

    ``ref`` identifies the stored override (its id) so that a stretch can say which one put
    its person there; ``reason`` is OVERRIDE for a manager's override, COVER for a cover.
    A cover names the person it ``covers``: it applies only where that person holds the role
    (``broken_covers`` lists the covers that, somewhere in their window, find someone else).
    """

    role: Duty
    member: str
    start: datetime
    end: datetime
    ref: int | None = None
    reason: Reason = Reason.OVERRIDE
    covers: str | None = None


@dataclass(frozen=True, order=True)
class Stretch:
    """One piece of the effective schedule: ``member`` holds ``role`` over [start, end) (UTC).

    A stretch lies inside one slot (``slot_start`` to ``slot_end``, handoff to handoff).
    ``covering`` is the rostered person it replaces (None when rostered), ``override`` the
    ``ref`` of the override that put ``member`` there.
    """

    start: datetime
    end: datetime
    role: Duty
    member: str
    reason: Reason = Reason.ROSTERED
    covering: str | None = None
    override: int | None = None
    slot_start: datetime | None = None
    slot_end: datetime | None = None

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and self.end > start

    def holds(self, when: datetime) -> bool:
        return self.start <= when < self.end


@dataclass(frozen=True)
class OnDuty:
    """Who holds each role at ``at``, when the slot ends and who takes over then."""

    at: datetime
    primary: str
    secondary: str
    shadows: tuple[str, ...]
    shift_start: datetime
    shift_end: datetime
    next_primary: str
    next_secondary: str


def effective_stretches(
    rotation: RotationPlan, overrides: Sequence[OverrideWindow], start: datetime, end: datetime
) -> list[Stretch]:
    """The effective schedule over [start, end): every stretch that overlaps the window.

    Stretches are whole (not clipped to the window), so two readers asking about different
    windows agree on every stretch they both see. Slots (swaps applied) are cut where
    overrides begin and end; in each piece the overrides covering it apply in list order, a
    later one replacing whoever the earlier left, and a cover only where its person holds it.
    Sorted by start, then role (primary, secondary, shadow), then member.
    """
    return _resolve(rotation, overrides, start, end)[0]


def broken_covers(
    rotation: RotationPlan, overrides: Sequence[OverrideWindow], start: datetime, end: datetime
) -> set[int | None]:
    """The refs of covers overlapping [start, end) that, somewhere in their window, find the
    role held by someone other than the person they cover: flagged, never moved onto them."""
    return _resolve(rotation, overrides, start, end)[1]


def _resolve(
    rotation: RotationPlan, overrides: Sequence[OverrideWindow], start: datetime, end: datetime
) -> tuple[list[Stretch], set[int | None]]:
    result: list[Stretch] = []
    skipped: set[int | None] = set()
    by_role: dict[Duty, list[OverrideWindow]] = {Duty.PRIMARY: [], Duty.SECONDARY: []}
    for override in overrides:
        # A slot reaches at most 10.5 days beyond the window, and its stretches are whole.
        if override.end > start - SLOT_MARGIN and override.start < end + SLOT_MARGIN:
            by_role[override.role].append(override)
    for shift in shifts_between(rotation, start, end):
        if shift.role == Duty.SHADOW:
            result.append(
                Stretch(
                    shift.start,
                    shift.end,
                    shift.role,
                    shift.member,
                    slot_start=shift.start,
                    slot_end=shift.end,
                )
            )
            continue
        near = [o for o in by_role[shift.role] if o.start < shift.end and o.end > shift.start]
        cuts = sorted(
            {edge for o in near for edge in (o.start, o.end) if shift.start < edge < shift.end}
        )
        pieces: list[Stretch] = []
        for piece_start, piece_end in itertools.pairwise([shift.start, *cuts, shift.end]):
            piece = _piece(shift, near, piece_start, piece_end, skipped)
            last = pieces[-1] if pieces else None
            if last is not None and _same_holding(last, piece):
                pieces[-1] = dataclasses.replace(last, end=piece_end)
            else:
                pieces.append(piece)
        result.extend(piece for piece in pieces if piece.overlaps(start, end))
    result.sort(key=lambda s: (s.start, list(Duty).index(s.role), s.member))
    return result, skipped


def _piece(
    shift: PlannedShift,
    overrides: Sequence[OverrideWindow],
    start: datetime,
    end: datetime,
    skipped: set[int | None],
) -> Stretch:
    """Who holds [start, end) of ``shift``: the overrides covering it applied in order."""
    holder, reason, covering, ref = (
        shift.member,
        Reason.SWAP if shift.swapped_from else Reason.ROSTERED,
        shift.swapped_from,
        None,
    )
    for override in overrides:
        if not override.start <= start < override.end:
            continue
        if override.covers is not None and override.covers != holder:
            skipped.add(override.ref)
            continue
        # An override of the holder by themselves changes nothing.
        if override.member != holder:
            holder, reason, covering, ref = override.member, override.reason, holder, override.ref
    if holder == shift.member:  # overridden back to the person the schedule names
        reason = Reason.SWAP if shift.swapped_from else Reason.ROSTERED
        covering, ref = shift.swapped_from, None
    return Stretch(
        start,
        end,
        shift.role,
        holder,
        reason=reason,
        covering=covering,
        override=ref,
        slot_start=shift.start,
        slot_end=shift.end,
    )


def _same_holding(a: Stretch, b: Stretch) -> bool:
    return (a.member, a.reason, a.covering, a.override) == (
        b.member,
        b.reason,
        b.covering,
        b.override,
    )


def holder(stretches: Sequence[Stretch], role: Duty, when: datetime) -> Stretch | None:
    """The stretch in which someone holds ``role`` at ``when``, if any."""
    return next((s for s in stretches if s.role == role and s.holds(when)), None)


def on_call_at(
    rotation: RotationPlan, at: datetime, overrides: Sequence[OverrideWindow] = ()
) -> OnDuty | None:
    """Who is on call at ``at`` in the effective schedule; None before the rotation starts.

    ``next_*`` are the people on call at ``shift_end``, the next handoff.
    """
    bounds = slot_bounds(rotation, at)
    if bounds is None:
        return None
    start, end = bounds
    tick = timedelta(microseconds=1)
    now = effective_stretches(rotation, overrides, at, at + tick)
    then = effective_stretches(rotation, overrides, end, end + tick)

    def who(stretches: list[Stretch], role: Duty, when: datetime) -> str:
        found = holder(stretches, role, when)
        assert found is not None, "the engine leaves no gap"
        return found.member

    return OnDuty(
        at=at.astimezone(UTC),
        primary=who(now, Duty.PRIMARY, at),
        secondary=who(now, Duty.SECONDARY, at),
        shadows=tuple(s.member for s in now if s.role == Duty.SHADOW),
        shift_start=start,
        shift_end=end,
        next_primary=who(then, Duty.PRIMARY, end),
        next_secondary=who(then, Duty.SECONDARY, end),
    )
