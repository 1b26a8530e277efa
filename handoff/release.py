"""A week's release checklist: opened once per week, its steps ticked and unticked with who and
when, and read by the release page, the dashboard's week panel and the handoff report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction

from handoff import checklist, days
from handoff.models import Release, ReleaseStep, WeekSetup
from portal.models import AuditEntry
from rotation.effective import effective_schedule
from rotation.models import Engineer, Rotation, schedule_of
from rotation.schedule import Duty
from rotation.swaps import is_manager

Week = tuple[datetime, datetime]


class ReleaseError(ValueError):
    """A tick or untick the rules refuse; the message says why, to the person who tried."""


def this_week(rotation: Rotation, now: datetime) -> Week | None:
    """The week (handoff to handoff) holding ``now``; None before the rotation's first roster."""
    plan = schedule_of(rotation)
    return days.week_at(plan, now) if plan is not None else None


def week_named(rotation: Rotation, handoff_day: date) -> Week | None:
    """The week that starts on ``handoff_day`` in the rotation's zone, if one does."""
    plan = schedule_of(rotation)
    return days.week_starting_on(plan, handoff_day, rotation.zone) if plan is not None else None


def primary_at(rotation: Rotation, at: datetime) -> Engineer | None:
    """Who holds primary at ``at``, after swaps, covers and overrides."""
    effective = effective_schedule(rotation, at, at + timedelta(minutes=1))
    stretch = effective.holder(Duty.PRIMARY, at)
    return effective.person(stretch.member if stretch else None)


def week_holders(rotation: Rotation, week: Week) -> set[str]:
    """The emails of everyone primary or secondary at some point of the week."""
    effective = effective_schedule(rotation, *week)
    return {
        s.member
        for s in effective.stretches
        if s.role in (Duty.PRIMARY, Duty.SECONDARY) and s.start < week[1] and s.end > week[0]
    }


def runbook_steps(rotation: Rotation) -> list[str]:
    """The steps a week's checklist starts with: the rotation's release runbook's task items,
    else the guide's master to staging to production."""
    setup = WeekSetup.objects.filter(rotation=rotation).select_related("release_runbook").first()
    runbook = setup.release_runbook if setup else None
    return checklist.steps_from(runbook.body if runbook else None)


def open_release(rotation: Rotation, week_start: datetime) -> Release:
    """The week's release, opened on first need: owned by the primary at the week's start, its
    steps copied from the runbook then. Two openers at once make one: the second insert waits
    on the unique (rotation, week_start) index and then reads the first's row."""
    existing = Release.objects.filter(rotation=rotation, week_start=week_start).first()
    if existing is not None:
        return existing
    owner = primary_at(rotation, week_start)
    if owner is None:
        raise ReleaseError("Nobody is primary that week, so the release has no owner.")
    steps = runbook_steps(rotation)
    with transaction.atomic():
        release, created = Release.objects.get_or_create(
            rotation=rotation, week_start=week_start, defaults={"owner": owner}
        )
        if created:
            ReleaseStep.objects.bulk_create(
                ReleaseStep(release=release, position=number, text=text)
                for number, text in enumerate(steps, start=1)
            )
            AuditEntry.record(
                "release.opened",
                str(release.pk),
                by=None,
                rotation=rotation.slug,
                week_start=week_start.isoformat(),
                owner=owner.email,
                steps=len(steps),
            )
    return release


def may_tick(user: User, rotation: Rotation, week: Week, owner: Engineer | None) -> bool:
    """The owner, anyone primary or secondary that week (a swap may have moved the week), or a
    manager."""
    if is_manager(user):
        return True
    if owner is not None and owner.user_id == user.pk:
        return True
    mine = Engineer.objects.filter(user=user).values_list("email", flat=True).first()
    return mine is not None and mine in week_holders(rotation, week)


@transaction.atomic
def tick_step(
    rotation: Rotation, week: Week, position: int, *, done: bool, by: User, now: datetime
) -> ReleaseStep:
    """Tick (``done``) or untick a step of the week's release, opening it if need be. A
    conditional update: of two people ticking at once, the first tick stands."""
    if week[0] > now:
        raise ReleaseError("This week has not begun: its release opens at its handoff.")
    release = open_release(rotation, week[0])
    if not may_tick(user=by, rotation=rotation, week=week, owner=release.owner):
        raise ReleaseError(
            f"Only {release.owner.name}, that week's primary or secondary, or a manager may "
            "tick this release's steps."
        )
    step = ReleaseStep.objects.filter(release=release, position=position).first()
    if step is None:
        raise ReleaseError("That step is not on this week's checklist.")
    if done:
        changed = ReleaseStep.objects.filter(pk=step.pk, done_at__isnull=True).update(
            done_at=now, done_by=by
        )
    else:
        changed = ReleaseStep.objects.filter(pk=step.pk, done_at__isnull=False).update(
            done_at=None, done_by=None
        )
    step.refresh_from_db()
    if changed:
        AuditEntry.record(
            "release.step_ticked" if done else "release.step_unticked",
            str(step.pk),
            by=by,
            rotation=rotation.slug,
            week_start=week[0].isoformat(),
            position=position,
            text=step.text,
        )
    return step


@dataclass(frozen=True)
class StepState:
    position: int
    text: str
    done_at: datetime | None
    done_by: str

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True)
class ReleaseState:
    """A week's checklist as it stands; before anyone ticks it (not ``is_open``), the steps it
    would open with and the primary who would own it."""

    done: int
    total: int
    steps: list[StepState]
    owner: Engineer | None
    is_open: bool

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done == self.total


def release_state(rotation: Rotation, week_start: datetime) -> ReleaseState:
    """The week's release checklist: three queries once opened."""
    opened = opened_release_state(rotation, week_start)
    if opened is not None:
        return opened
    texts = runbook_steps(rotation)
    steps = [StepState(n, text, None, "") for n, text in enumerate(texts, start=1)]
    return ReleaseState(0, len(steps), steps, primary_at(rotation, week_start), False)


def opened_release_state(rotation: Rotation, week_start: datetime) -> ReleaseState | None:
    """The week's release once someone opened it, else None: two queries. For the record of
    a week (the report, the summary), where steps nobody ticked are no news."""
    release = (
        Release.objects.filter(rotation=rotation, week_start=week_start)
        .select_related("owner")
        .first()
    )
    if release is None:
        return None
    steps = [
        StepState(s.position, s.text, s.done_at, name_of(s.done_by))
        for s in release.steps.select_related("done_by__engineer").order_by("position")
    ]
    done = sum(s.is_done for s in steps)
    return ReleaseState(done, len(steps), steps, release.owner, True)


def name_of(user: User | None) -> str:
    """Who ticked: their engineer name, else the account's name."""
    if user is None:
        return ""
    engineer = getattr(user, "engineer", None)
    return engineer.name if engineer else (user.get_full_name() or user.username)
