"""Slack jobs: send the outbox's posts, post each rotation's handoff and each new swap or
cover request once, and keep each rotation's user group equal to who is on call."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from portal.models import Notice
from portal.notices import deliver_claimed
from rotation.covers import when_text
from rotation.effective import EffectiveSchedule, effective_schedules
from rotation.models import (
    CoverKind,
    CoverRequest,
    CoverStatus,
    Engineer,
    Rotation,
    Swap,
    SwapStatus,
)
from rotation.schedule import Duty
from slack_app import api, messages
from slack_app.client import SlackError, post_webhook
from slack_app.groups import handle_of, sync_group
from slack_app.outbox import bot_posts, post
from slack_app.people import match_all

# The handoff job runs every five minutes and looks back two hours: a worker down for an hour
# still posts the handoff it missed (once: the key), and one older than that is not news.
LOOKBACK = timedelta(hours=2)


def _send(notice: Notice) -> None:
    payload = json.loads(notice.body)
    if bot_posts():
        api.post_message(settings.SLACK_CHANNEL, payload)
    else:
        post_webhook(payload)


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


def _stint(rotation: Rotation, at: datetime) -> str:
    local = at.astimezone(ZoneInfo(rotation.time_zone))
    return f"{local:%a %-d %b}"


def post_requests(now: datetime | None = None) -> str:
    """Post each swap and cover request made within ``LOOKBACK`` that waits for one person's
    answer, with Accept and Decline buttons (only with the bot: a webhook's message cannot
    call the portal back). The key posts each once, however many runs see it."""
    now = now or timezone.now()
    if not bot_posts():
        return "slack requests: no bot channel"
    written = 0
    swaps = Swap.objects.filter(status=SwapStatus.PROPOSED, created_at__gt=now - LOOKBACK)
    for swap in swaps.select_related("rotation", "proposer", "partner"):
        rotation = swap.rotation
        text = f"{swap.proposer.name} asks {swap.partner.name} to swap in {rotation.name}"
        detail = (
            f"*{messages.escape(text)}*\n{messages.escape(swap.proposer.name)}'s week of "
            f"{_stint(rotation, swap.proposer_stint)} for "
            f"{messages.escape(swap.partner.name)}'s of {_stint(rotation, swap.partner_stint)}"
        )
        payload = messages.request("swap", swap.pk, text, detail)
        written += post(f"slack-swap:{swap.pk}", payload)
    covers = CoverRequest.objects.filter(status=CoverStatus.OPEN, created_at__gt=now - LOOKBACK)
    for cover in covers.select_related("rotation", "covered", "taker"):
        rotation = cover.rotation
        if cover.kind == CoverKind.ASK:
            text = f"{cover.covered.name} asks " + (
                f"{cover.taker.name} to cover" if cover.taker else "for cover"
            )
        else:
            text = f"{cover.taker.name if cover.taker else 'Someone'} offers {cover.covered.name} cover"
        text += f" as {cover.role} of {rotation.name}"
        detail = f"*{messages.escape(text)}*\n{messages.escape(when_text(rotation, cover.starts_at, cover.ends_at))}"
        payload = messages.request("cover", cover.pk, text, detail)
        written += post(f"slack-cover:{cover.pk}", payload)
    return f"slack requests: {written} written"


def sync_user_groups(now: datetime | None = None) -> str:
    """Set each rotation's ``@<slug>-oncall`` group to its primary and secondary now (only
    when that changed), and look up rostered people not matched yet, so someone missing in
    Slack shows on the sync page before their turn."""
    now = now or timezone.now()
    if not api.configured():
        return "slack groups: no bot token"
    done = []
    try:
        rostered = Engineer.objects.filter(memberships__isnull=False, is_active=True).distinct()
        match_all(rostered, now)
    except SlackError as error:
        return f"slack groups: {error}"
    for rotation in Rotation.objects.all():
        done.append(f"{handle_of(rotation)} {sync_group(rotation, now)}")
    return "slack groups: " + ("; ".join(done) or "no rotations")
