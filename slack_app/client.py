"""The Slack incoming-webhook client: one JSON POST to ``SLACK_WEBHOOK_URL``.

Reference: https://api.slack.com/messaging/webhooks (answers 200 "ok", or 400/403/404/410
with a short error string such as ``invalid_payload``, ``no_text``, ``invalid_blocks``).
The webhook URL is a bearer credential: it never reaches an error message or a log line.
A post is never retried here: a timed-out post may have been shown, and the outbox row that
failed is tried again by the next run of ``slack.jobs.send_posts``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
from django.conf import settings

from portal.logmask import MaskInArguments

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A webhook URL is https://hooks.slack.com/services/T.../B.../<secret>: all after /services/.
_WEBHOOK_PATH = re.compile(r"/services/\S+")


# httpx logs every request's URL at INFO: a webhook's path is masked there.
logging.getLogger("httpx").addFilter(MaskInArguments(_WEBHOOK_PATH, "/services/***"))


class SlackError(Exception):
    """A refused or failed post; the message names Slack's answer, never the URL."""


def post_webhook(
    payload: dict[str, Any], *, url: str | None = None, client: httpx.Client | None = None
) -> None:
    """POST ``payload`` as JSON to the webhook; raise SlackError unless Slack answers "ok"."""
    url = url or settings.SLACK_WEBHOOK_URL
    if not url:
        raise SlackError("SLACK_WEBHOOK_URL is not set")
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        answer = http.post(url, json=payload)
    except httpx.HTTPError as error:
        raise SlackError(f"Slack webhook unreachable: {type(error).__name__}") from None
    finally:
        if client is None:
            http.close()
    if answer.status_code != 200 or answer.text.strip() != "ok":
        raise SlackError(f"Slack answered {answer.status_code}: {answer.text.strip()[:100]}")
