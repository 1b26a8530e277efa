"""``{% slack_status %}``: the Slack app's user groups and unmatched people, on the sync page
beside PagerDuty's (three queries; nothing shown until the app has run)."""

from __future__ import annotations

from typing import Any

from django import template

from slack_app.groups import handle_of
from slack_app.models import SlackUserGroup
from slack_app.people import unmatched

register = template.Library()


@register.inclusion_tag("slack/status.html")
def slack_status() -> dict[str, Any]:
    groups = list(SlackUserGroup.objects.select_related("rotation").order_by("rotation__name"))
    return {
        "groups": [(handle_of(g.rotation), g) for g in groups],
        "unmatched": unmatched(),
    }
