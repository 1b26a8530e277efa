"""Slack posts, written to the notices outbox and sent once by ``slack.jobs.send_posts``."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from portal.models import Notice
from portal.notices import write


def bot_posts() -> bool:
    """Whether posts go to ``SLACK_CHANNEL`` with the bot token (chat.postMessage), which
    buttons need; else to the webhook, for teams with only a webhook."""
    return bool(settings.SLACK_BOT_TOKEN and settings.SLACK_CHANNEL)


def post(key: str, payload: dict[str, Any]) -> bool:
    """Write one post (once per ``key``) when Slack is set up (a bot and channel, or a
    webhook); True when this call wrote it. Unset, nothing is written: set later, nothing
    is replayed."""
    if not (bot_posts() or settings.SLACK_WEBHOOK_URL):
        return False
    return write(Notice.Channel.SLACK, key, "", str(payload["text"]), json.dumps(payload))
