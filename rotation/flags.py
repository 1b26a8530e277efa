"""Covers and swaps a write has broken: flagged and told, never moved onto someone else.

A cover stands in for one person and a swap exchanges two people's stints; a later roster
edit or swap can mean that person no longer holds what it names. The engine then leaves the
cover or swap out of the effective schedule (``stretches.broken_covers``,
``schedule.broken_swaps``); ``flag_broken`` records that on the row and tells both people and
the managers, once. Every action that changes the schedule calls it, under its lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Q

from portal.notices import tell
from rotation import schedule, stretches
from rotation.models import Override, Rotation, Swap, SwapStatus, schedule_of

MANAGERS = "Managers"


def manager_emails() -> list[str]:
    """Who is told when something needs a manager: the Managers group and superusers."""
    users = User.objects.filter(Q(groups__name=MANAGERS) | Q(is_superuser=True), is_active=True)
    return sorted({email for email in users.values_list("email", flat=True) if email})


def broken_now(rotation: Rotation, now: datetime) -> tuple[list[Override], list[Swap]]:
    """The rotation's covers and accepted swaps that have not ended and no longer apply."""
    plan = schedule_of(rotation)
    # Every override that has not ended: the covers among them, and all of them to apply.
    everything = list(
        Override.objects.filter(rotation=rotation, ends_at__gt=now)
        .select_related("engineer", "covers")
        .order_by("created_at", "id")
    )
    covers = [override for override in everything if override.covers_id is not None]
    swaps = list(
        Swap.objects.filter(rotation=rotation, status=SwapStatus.ACCEPTED)
        .filter(
            Q(proposer_stint__gt=now - timedelta(weeks=2))
            | Q(partner_stint__gt=now - timedelta(weeks=2))
        )
        .select_related("proposer", "partner")
    )
    if plan is None:
        return covers, swaps
    if covers:
        end = max(cover.ends_at for cover in covers)
        windows = [override.as_schedule() for override in everything]
        broken = stretches.broken_covers(plan, windows, now, end)
        covers = [cover for cover in covers if cover.id in broken]
    unapplied = {swap.ref for swap in schedule.broken_swaps(plan)}
    return covers, [swap for swap in swaps if swap.id in unapplied]


def flag_broken(rotation: Rotation, *, now: datetime) -> tuple[list[Override], list[Swap]]:
    """Flag what no longer applies and tell its people and the managers; clear the flag of
    what applies again. Returns what was newly flagged."""
    covers, swaps = broken_now(rotation, now)
    new_covers = [cover for cover in covers if cover.flagged_at is None]
    new_swaps = [swap for swap in swaps if swap.flagged_at is None]
    Override.objects.filter(rotation=rotation, flagged_at__isnull=False, ends_at__gt=now).exclude(
        id__in=[cover.id for cover in covers]
    ).update(flagged_at=None)
    Swap.objects.filter(rotation=rotation, flagged_at__isnull=False).exclude(
        id__in=[swap.id for swap in swaps]
    ).update(flagged_at=None)
    Override.objects.filter(id__in=[cover.id for cover in new_covers]).update(flagged_at=now)
    Swap.objects.filter(id__in=[swap.id for swap in new_swaps]).update(flagged_at=now)
    managers = manager_emails()
    zone = rotation.zone
    for cover in new_covers:
        assert cover.covers is not None
        when = (
            f"{cover.starts_at.astimezone(zone):%a %-d %b %H:%M} to "
            f"{cover.ends_at.astimezone(zone):%a %-d %b %H:%M %Z}"
        )
        body = (
            f"{cover.engineer.name} was to cover {cover.covers.name} as {cover.role} of "
            f"{rotation.name} from {when}, but since a change to the schedule {cover.covers.name} "
            "no longer holds that window. The cover does not apply: it was not moved onto "
            "whoever holds the window now. Cancel it, or ask the person who does for a new one."
        )
        for email in sorted({cover.engineer.email, cover.covers.email, *managers}):
            tell(
                f"cover-flagged:{cover.id}:{now.isoformat()}:{email}",
                email,
                f"{rotation.name}: a cover no longer applies",
                body,
            )
    for swap in new_swaps:
        body = (
            f"The swap between {swap.proposer.name} and {swap.partner.name} in {rotation.name} "
            f"(stints from {swap.proposer_stint.astimezone(zone):%a %-d %b %Y} and "
            f"{swap.partner_stint.astimezone(zone):%a %-d %b %Y}) no longer applies: a roster "
            "change means one of them no longer holds the stint it names. Each now holds the "
            "weeks the roster gives them; propose a new swap if you still need one."
        )
        for email in sorted({swap.proposer.email, swap.partner.email, *managers}):
            tell(
                f"swap-flagged:{swap.id}:{now.isoformat()}:{email}",
                email,
                f"{rotation.name}: a swap no longer applies",
                body,
            )
    return new_covers, new_swaps
