"""Slack jobs: send the outbox's posts, and post each rotation's handoff once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from portal.models import Notice
from portal.notices import deliver_claimed
from rotation.effective import EffectiveSchedule, effective_schedules
from rotation.models import Rotation
from rotation.schedule import Duty
from slack import messages
from slack.client import post_webhook
from slack.outbox import post

# The handoff job runs every five minutes and looks back two hours: a worker down for an hour
# still posts the handoff it missed (once: the key), and one older than that is not news.
LOOKBACK = timedelta(hours=2)


def _send(notice: Notice) -> None:
    post_webhook(json.loads(notice.body))


def _name(effective: EffectiveSchedule, email: str) -> str:
    person = effective.person(email)
    return person.name if person else email


def send_posts(*, now: datetime | None = None) -> str:
    """Send every Slack post not sent yet that no live worker has claimed."""
    return "slack: " + deliver_claimed(Notice.Channel.SLACK, _send, now=now or timezone.now())


def post_handoffs(now: datetime | None = None) -> str:
    """Post the new primary and secondary of each handoff that passed within ``LOOKBACK``."""
    now = now or timezone.now()
    written = 0
    for effective in effective_schedules(
        list(Rotation.objects.all()), now - LOOKBACK, now + timedelta(seconds=1)
    ):
        rotation = effective.rotation
        handoffs = {
            s.slot_start
            for s in effective.stretches
            if s.slot_start is not None and now - LOOKBACK < s.slot_start <= now
        }
        for at in sorted(handoffs):
            holders = [effective.holder(Duty.PRIMARY, at), effective.holder(Duty.SECONDARY, at)]
            if holders[0] is None or holders[1] is None:
                continue  # a rotation without a plan yet
            primary, secondary = (_name(effective, s.member) for s in holders if s is not None)
            local = at.astimezone(ZoneInfo(rotation.time_zone))
            payload = messages.handoff(
                rotation.name,
                primary,
                secondary,
                when=f"{local:%a %-d %b %H:%M} {rotation.time_zone}",
            )
            written += post(f"slack-handoff:{rotation.slug}:{at.isoformat()}", payload)
    return f"slack handoffs: {written} written"
