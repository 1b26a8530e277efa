"""A newcomer's onboarding checklist: shown on /me/ to them and to the primary of their shadow
week, who both tick it (a manager may too; nobody else)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from portal.models import Actor, AuditEntry
from rotation import schedule
from rotation.models import Engineer, OnboardingStep, Rotation, ShadowBooking, schedule_of


@dataclass(frozen=True)
class Checklist:
    rotation: Rotation
    newcomer: Engineer
    steps: list[OnboardingStep]
    shadow_start: datetime | None
    primary: str | None  # the email of the shadow week's primary
    primary_name: str = ""

    @property
    def done(self) -> int:
        return sum(step.done_at is not None for step in self.steps)


def shadow_primary(booking: ShadowBooking) -> tuple[datetime | None, str | None]:
    """When the shadow week starts and who is primary that week (swaps applied)."""
    plan = schedule_of(booking.rotation)
    window = (
        plan.shadow_window(schedule.ShadowWeek(booking.engineer.email, booking.week_of))
        if plan
        else None
    )
    if plan is None or window is None:
        return None, None
    for shift in schedule.shifts_between(plan, window[0], window[1]):
        if shift.role == schedule.Duty.PRIMARY and shift.start == window[0]:
            return window[0], shift.member
    return window[0], None


def checklist(rotation: Rotation, newcomer: Engineer) -> Checklist:
    steps = list(OnboardingStep.objects.filter(rotation=rotation, engineer=newcomer))
    booking = (
        ShadowBooking.objects.filter(rotation=rotation, engineer=newcomer)
        .select_related("rotation", "engineer")
        .order_by("-week_of")
        .first()
    )
    start, primary = shadow_primary(booking) if booking else (None, None)
    name = Engineer.objects.filter(email=primary).values_list("name", flat=True).first()
    return Checklist(rotation, newcomer, steps, start, primary, name or "")


def checklists_for(engineer: Engineer) -> list[Checklist]:
    """The unfinished checklists ``engineer`` sees: their own, and their shadows' when they are
    the primary of the shadow week."""
    open_steps = OnboardingStep.objects.filter(done_at__isnull=True)
    pairs = set(open_steps.values_list("rotation_id", "engineer_id"))
    if not pairs:
        return []
    rotations = Rotation.objects.in_bulk({r for r, _ in pairs})
    people = Engineer.objects.in_bulk({e for _, e in pairs})
    found = []
    for rotation_id, engineer_id in sorted(pairs):
        if (
            engineer_id != engineer.id
            and not ShadowBooking.objects.filter(
                rotation_id=rotation_id, engineer_id=engineer_id
            ).exists()
        ):
            continue
        mine = checklist(rotations[rotation_id], people[engineer_id])
        if engineer_id == engineer.id or mine.primary == engineer.email:
            found.append(mine)
    return found


def may_tick(user: Actor, step: OnboardingStep) -> bool:
    if not isinstance(user, User):
        return False
    if user.has_perm("rotation.change_rotation") or step.engineer.user_id == user.pk:
        return True
    me = Engineer.objects.filter(user=user).first()
    return me is not None and checklist(step.rotation, step.engineer).primary == me.email


@transaction.atomic
def tick(step: OnboardingStep, *, done: bool, by: Actor) -> None:
    """Tick (or untick) a step: only the newcomer, their shadow week's primary or a manager."""
    if not may_tick(by, step):
        raise PermissionDenied("only the newcomer, their shadow week's primary or a manager")
    OnboardingStep.objects.filter(pk=step.pk).update(
        done_at=timezone.now() if done else None, done_by=by if done else None
    )
    AuditEntry.record(
        "onboarding.ticked" if done else "onboarding.unticked",
        step.engineer.email,
        by=by,
        rotation=step.rotation.slug,
        step=step.step,
    )


def me_context(engineer: Engineer | None) -> dict[str, object]:
    """What /me/'s onboarding include reads."""
    return {"checklists": checklists_for(engineer) if engineer else []}
