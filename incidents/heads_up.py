"""The heads-up board: posting a planned change, test or downtime, and reading what is on now,
what is coming and what is past."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents import rules
from incidents.models import HeadsUp, HeadsUpKind
from portal.models import AuditEntry
from slack_app import messages
from slack_app.outbox import post

# The board shows what ended within this long; the dashboard what starts within AHEAD.
PAST = timedelta(days=30)
AHEAD = timedelta(days=7)


@transaction.atomic
def post_heads_up(fields: dict[str, Any], *, by: User) -> HeadsUp:
    """Post a heads-up from a valid form's fields; the rules are checked again here, so no
    caller can store a change without a way back or one that ends before it starts."""
    heads_up = HeadsUp(**fields, posted_by=by)
    heads_up.full_clean()
    heads_up.save()
    AuditEntry.record(
        "heads_up.posted",
        str(heads_up.pk),
        by=by,
        kind=heads_up.kind,
        starts_at=heads_up.starts_at.isoformat(),
        customer_facing=heads_up.customer_facing,
    )
    announce_heads_up(heads_up)
    return heads_up


def announce_heads_up(heads_up: HeadsUp) -> bool:
    """Write the heads-up's Slack post (once; nothing without a webhook), times in the portal's
    zone: a channel has many readers and no one zone of its own."""
    zone = timezone.get_default_timezone()

    def local(when: datetime) -> str:
        return f"{when.astimezone(zone):%a %-d %b %H:%M} {zone.key}"

    payload = messages.heads_up(
        heads_up.title,
        heads_up.get_kind_display(),
        local(heads_up.starts_at),
        local(heads_up.ends_at),
        str(heads_up.owner or heads_up.posted_by or "nobody"),
    )
    return post(f"slack-heads-up:{heads_up.pk}", payload)


@dataclass(frozen=True)
class Board:
    now_and_ahead: list[HeadsUp]
    past: list[HeadsUp]


def board(now: datetime) -> Board:
    """Everything not yet over, soonest first, then what ended in the last 30 days, latest
    first: one query."""
    found = list(
        HeadsUp.objects.filter(ends_at__gt=now - PAST)
        .select_related("owner", "posted_by")
        .order_by("starts_at", "id")
    )
    past = sorted((h for h in found if h.ends_at <= now), key=lambda h: h.ends_at, reverse=True)
    return Board([h for h in found if h.ends_at > now], past)


def coming(now: datetime) -> list[HeadsUp]:
    """What is on now or starts within the next seven days, soonest first: one query."""
    return list(
        # The panel names no one: no join, so the incidents topic alone covers what it reads.
        HeadsUp.objects.filter(ends_at__gt=now, starts_at__lt=now + AHEAD).order_by(
            "starts_at", "id"
        )[:20]
    )


def customer_notice(heads_up: HeadsUp) -> str:
    """The drafted customer notice, times in the current zone, to copy and edit."""
    zone = timezone.get_current_timezone()
    return rules.heads_up_notice(
        HeadsUpKind(heads_up.kind).label,
        heads_up.title,
        heads_up.services,
        heads_up.starts_at.astimezone(zone),
        heads_up.ends_at.astimezone(zone),
    )
