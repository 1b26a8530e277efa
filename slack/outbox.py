"""Slack posts, written to the notices outbox and sent once by ``slack.jobs.send_posts``."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from portal.models import Notice
from portal.notices import write


def post(key: str, payload: dict[str, Any]) -> bool:
    """Write one post (once per ``key``) when a webhook is set; True when this call wrote it.
    Without ``SLACK_WEBHOOK_URL`` nothing is written: a webhook set later does not replay."""
    if not settings.SLACK_WEBHOOK_URL:
        return False
    return write(Notice.Channel.SLACK, key, "", str(payload["text"]), json.dumps(payload))
