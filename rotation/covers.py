"""Covers: one person stands in for another in one role, for hours to days.

An engineer asks for cover of a window they hold (anyone, or one named colleague, may take
it), or offers to cover a colleague's window (the colleague accepts); a manager may assign a
cover directly. Taking one creates an Override tied to the person it covers
(``Override.covers``): it applies only while they hold the window, and when a later roster
edit or swap takes the window from them it is flagged (``rotation.flags``), never moved onto
whoever holds it then. Every write locks the rotation and checks the rules against the
schedule as it will be, then tells the other person by email (``portal.notices``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from portal.models import Actor, AuditEntry, user_or_none
from portal.notices import tell, tell_if_wanted
from rotation import schedule
from rotation.actions import (
    RosterError,
    check_effective,
    delete_override,
    future_overrides,
    lock_rotation,
)
from rotation.effective import effective_schedule
from rotation.models import (
    CoverKind,
    CoverRequest,
    CoverStatus,
    Engineer,
    Override,
    Role,
    Rotation,
    schedule_of,
)
from rotation.swaps import engineer_of, is_manager, refuse

# "Hours to days": a longer gap is a swap (or time off), which keeps the chain.
LONGEST_COVER = timedelta(days=14)


def when_text(rotation: Rotation, start: datetime, end: datetime) -> str:
    """A window as the rotation's people read it: in its zone, named."""
    zone = rotation.zone
    return f"{start.astimezone(zone):%a %-d %b %H:%M} to {end.astimezone(zone):%a %-d %b %H:%M %Z}"


def holds_window(
    rotation: Rotation, person: Engineer, role: str, start: datetime, end: datetime
) -> bool:
    """Whether ``person`` holds ``role`` over all of [start, end) in the effective schedule."""
    effective = effective_schedule(rotation, start, end)
    reached = start
    for stretch in effective.stretches:
        mine = stretch.role.value == role and stretch.member == person.email
        if mine and stretch.start <= reached < stretch.end:
            reached = stretch.end
    return reached >= end


def window_problems(
    rotation: Rotation,
    covered: Engineer,
    role: str,
    starts_at: datetime,
    ends_at: datetime,
    *,
    now: datetime,
) -> list[schedule.Problem]:
    """Why ``covered`` cannot have cover for this window (empty when they can)."""
    if role not in (Role.PRIMARY, Role.SECONDARY):
        return [schedule.Problem("cover-role", "a cover stands in as primary or secondary")]
    if ends_at <= starts_at:
        return [schedule.Problem("cover-window", "a cover must end after it starts")]
    if ends_at - starts_at > LONGEST_COVER:
        return [
            schedule.Problem(
                "cover-window", "a cover lasts at most 14 days; for longer, propose a swap"
            )
        ]
    if starts_at < now:
        return [schedule.Problem("cover-started", "a cover can only start in the future")]
    if schedule_of(rotation) is None:
        return [schedule.Problem("no-roster", f"{rotation.name} has no roster yet")]
    if not holds_window(rotation, covered, role, starts_at, ends_at):
        return [
            schedule.Problem(
                "cover-not-yours",
                f"{covered.name} is not {role} of {rotation.name} for all of "
                f"{when_text(rotation, starts_at, ends_at)}: a cover stands in for the person "
                "who holds the window",
                covered.email,
            )
        ]
    return []


def cover_problems(
    rotation: Rotation,
    role: str,
    taker: Engineer,
    covered: Engineer,
    starts_at: datetime,
    ends_at: datetime,
    *,
    now: datetime,
) -> list[schedule.Problem]:
    """Why ``taker`` cannot cover ``covered`` for the window: the window, then every rule of
    the effective schedule as it would be with the cover added."""
    found = window_problems(rotation, covered, role, starts_at, ends_at, now=now)
    if found:
        return found
    if taker.pk == covered.pk:
        return [schedule.Problem("cover-self", "a cover is by someone else", taker.email)]
    if not taker.is_active:
        return [schedule.Problem("inactive", f"{taker.name} is no longer active", taker.email)]
    spec = schedule_of(rotation)
    candidate = Override(
        rotation=rotation,
        role=role,
        engineer=taker,
        covers=covered,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    overrides = future_overrides(rotation, now)
    try:
        check_effective(rotation, (spec, overrides), (spec, [*overrides, candidate]), now=now)
    except RosterError as error:
        return error.problems
    return []


def _check(found: list[schedule.Problem]) -> None:
    if found:
        raise RosterError(found)


def _acts_as(by: Actor, person: Engineer | None) -> bool:
    """Nobody acts for someone else, except a manager."""
    me = engineer_of(by)
    return is_manager(by) or (person is not None and me is not None and me.pk == person.pk)


def _open_request(
    rotation: Rotation,
    kind: CoverKind,
    role: str,
    covered: Engineer,
    taker: Engineer | None,
    window: tuple[datetime, datetime],
    note: str,
    *,
    by: Actor,
) -> CoverRequest:
    """Store an ask or an offer, with its audit entry (the caller has checked the rules)."""
    request = CoverRequest.objects.create(
        rotation=rotation,
        kind=kind,
        role=role,
        covered=covered,
        taker=taker,
        starts_at=window[0],
        ends_at=window[1],
        note=note[:200],
        created_by=user_or_none(by),
    )
    verb = "asked" if kind == CoverKind.ASK else "offered"
    AuditEntry.record(f"cover.{verb}", rotation.slug, by=by, cover=request.id)
    return request


def _tell_asked(request: CoverRequest, to: Engineer, subject: str, lead: str) -> None:
    """Tell ``to`` that an ask or offer waits for their answer."""
    rotation = request.rotation
    verb = "asked" if request.kind == CoverKind.ASK else "offered"
    tell(
        f"cover-{verb}:{request.id}",
        to.email,
        subject,
        f"{lead} as {request.role} of {rotation.name} from "
        f"{when_text(rotation, request.starts_at, request.ends_at)}.\n"
        + (f"Note: {request.note}\n" if request.note else "")
        + "\nAccept or decline it on your page (/me/) in the portal.",
    )


@transaction.atomic
def ask_for_cover(
    rotation: Rotation,
    *,
    covered: Engineer,
    role: str,
    starts_at: datetime,
    ends_at: datetime,
    taker: Engineer | None = None,
    note: str = "",
    by: Actor,
    now: datetime | None = None,
) -> CoverRequest:
    """``covered`` asks for cover of a window they hold: from anyone, or ``taker`` alone."""
    now = now or timezone.now()
    if not _acts_as(by, covered):
        raise PermissionDenied("only the person whose window it is can ask for cover of it")
    lock_rotation(rotation)
    if taker is None:
        _check(window_problems(rotation, covered, role, starts_at, ends_at, now=now))
    else:
        _check(cover_problems(rotation, role, taker, covered, starts_at, ends_at, now=now))
    request = _open_request(
        rotation, CoverKind.ASK, role, covered, taker, (starts_at, ends_at), note, by=by
    )
    if taker is not None:
        _tell_asked(
            request,
            taker,
            f"{covered.name} asks you to cover in {rotation.name}",
            f"{covered.name} asks you to cover them",
        )
    return request


@transaction.atomic
def offer_cover(
    rotation: Rotation,
    *,
    taker: Engineer,
    covered: Engineer,
    role: str,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
    by: Actor,
    now: datetime | None = None,
) -> CoverRequest:
    """``taker`` offers to cover ``covered``, who holds the window; ``covered`` accepts."""
    now = now or timezone.now()
    if not _acts_as(by, taker):
        raise PermissionDenied("only the person who would cover can offer it")
    lock_rotation(rotation)
    _check(cover_problems(rotation, role, taker, covered, starts_at, ends_at, now=now))
    request = _open_request(
        rotation, CoverKind.OFFER, role, covered, taker, (starts_at, ends_at), note, by=by
    )
    _tell_asked(
        request,
        covered,
        f"{taker.name} offers to cover you in {rotation.name}",
        f"{taker.name} offers to cover you",
    )
    return request


def _reload(request: CoverRequest) -> CoverRequest:
    lock_rotation(request.rotation)
    return CoverRequest.objects.select_related("rotation", "covered", "taker", "override").get(
        pk=request.pk
    )


def _create_cover(request: CoverRequest, taker: Engineer, *, by: Actor, now: datetime) -> Override:
    """The override a cover is, after checking it again under the rotation's lock."""
    rotation = request.rotation
    _check(
        cover_problems(
            rotation,
            request.role,
            taker,
            request.covered,
            request.starts_at,
            request.ends_at,
            now=now,
        )
    )
    return Override.objects.create(
        rotation=rotation,
        role=request.role,
        engineer=taker,
        covers=request.covered,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        reason=request.note or f"covering {request.covered.name}",
        created_by=user_or_none(by),
    )


def _tell_both(request: CoverRequest, event: str, subject: str, body: str) -> None:
    """Tell both people what became of a cover; only those who want schedule changes told (an
    ask or offer waiting for an answer is told regardless: see ``_tell_asked``)."""
    for person in {request.covered, request.taker} - {None}:
        assert person is not None
        key = f"cover-{event}:{request.id}:{person.email}"
        tell_if_wanted("schedule_changes", key, person.email, subject, body)


@transaction.atomic
def accept_cover(request: CoverRequest, *, by: Actor, now: datetime | None = None) -> CoverRequest:
    """Take an ask (anyone eligible, or only the named taker) or accept an offer (the person
    it covers); creates the Override. Re-checked under the lock: of two people taking the same
    ask at once, the second finds it taken."""
    now = now or timezone.now()
    request = _reload(request)
    if request.status != CoverStatus.OPEN:
        # First: of two people taking one ask, the second finds it taken (and by whom).
        raise refuse("cover-decided", f"this cover is already {request.status}")
    me = engineer_of(by)
    if request.kind == CoverKind.ASK:
        taker = request.taker or me
        if taker is None or not _acts_as(by, taker):
            raise PermissionDenied("this ask is for someone else to take")
    else:
        taker = request.taker
        if taker is None or not _acts_as(by, request.covered):
            raise PermissionDenied("only the person it covers can accept this offer")
    override = _create_cover(request, taker, by=by, now=now)
    CoverRequest.objects.filter(pk=request.pk, status=CoverStatus.OPEN).update(
        status=CoverStatus.ACCEPTED, taker=taker, override=override, decided_at=now
    )
    request.status, request.taker, request.override = CoverStatus.ACCEPTED, taker, override
    AuditEntry.record("cover.accepted", request.rotation.slug, by=by, cover=request.id)
    rotation = request.rotation
    _tell_both(
        request,
        "accepted",
        f"Cover in {rotation.name} confirmed",
        f"{taker.name} covers {request.covered.name} as {request.role} of {rotation.name} "
        f"from {when_text(rotation, request.starts_at, request.ends_at)}.",
    )
    return request


@transaction.atomic
def decline_cover(request: CoverRequest, *, by: Actor, now: datetime | None = None) -> CoverRequest:
    """The person asked declines: the named taker of an ask, or the covered person of an
    offer. An ask open to anyone is not declined, only left (or cancelled by its asker)."""
    now = now or timezone.now()
    request = _reload(request)
    asked = request.taker if request.kind == CoverKind.ASK else request.covered
    if asked is None or not _acts_as(by, asked):
        raise PermissionDenied("only the person asked can decline this")
    if request.status != CoverStatus.OPEN:
        raise refuse("cover-decided", f"this cover is already {request.status}")
    return _close(request, CoverStatus.DECLINED, by=by, now=now)


@transaction.atomic
def cancel_cover(request: CoverRequest, *, by: Actor, now: datetime | None = None) -> CoverRequest:
    """Either person (or a manager) cancels before the window starts; an accepted cover's
    override goes, if the schedule without it keeps the rules."""
    now = now or timezone.now()
    request = _reload(request)
    if not (_acts_as(by, request.covered) or _acts_as(by, request.taker)):
        raise PermissionDenied("only the two people in a cover (or a manager) can cancel it")
    if request.status not in (CoverStatus.OPEN, CoverStatus.ACCEPTED):
        raise refuse("cover-decided", f"this cover is already {request.status}")
    if request.starts_at <= now:
        raise refuse("cover-started", "the cover has started; it stands")
    if request.override is not None:
        delete_override(request.override, by=by, now=now)
    return _close(request, CoverStatus.CANCELLED, by=by, now=now)


def _close(request: CoverRequest, status: CoverStatus, *, by: Actor, now: datetime) -> CoverRequest:
    CoverRequest.objects.filter(pk=request.pk).update(status=status, decided_at=now)
    request.status = status
    rotation = request.rotation
    AuditEntry.record(f"cover.{status}", rotation.slug, by=by, cover=request.id)
    _tell_both(
        request,
        str(status),
        f"Cover in {rotation.name} {status}",
        f"The cover of {request.covered.name} as {request.role} of {rotation.name} from "
        f"{when_text(rotation, request.starts_at, request.ends_at)} was {status}.",
    )
    return request


@transaction.atomic
def assign_cover(
    rotation: Rotation,
    *,
    taker: Engineer,
    covered: Engineer,
    role: str,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
    by: Actor,
    now: datetime | None = None,
) -> CoverRequest:
    """A manager puts ``taker`` in for ``covered`` directly; both are told."""
    if not is_manager(by):
        raise PermissionDenied("only a manager can assign a cover")
    now = now or timezone.now()
    lock_rotation(rotation)
    request = CoverRequest(
        rotation=rotation,
        kind=CoverKind.ASK,
        role=role,
        covered=covered,
        taker=taker,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note[:200],
        created_by=user_or_none(by),
    )
    override = _create_cover(request, taker, by=by, now=now)
    request.status, request.override, request.decided_at = CoverStatus.ACCEPTED, override, now
    request.save()
    AuditEntry.record("cover.assigned", rotation.slug, by=by, cover=request.id)
    _tell_both(
        request,
        "assigned",
        f"Cover in {rotation.name} assigned",
        f"A manager has put {taker.name} in for {covered.name} as {role} of {rotation.name} "
        f"from {when_text(rotation, starts_at, ends_at)}.",
    )
    return request
