"""Template helpers for showing instants in a chosen zone and time left until them."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import template
from django.templatetags.tz import do_timezone
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def in_zone(when: datetime | None, zone: str) -> datetime | None:
    """``{{ shift_end|in_zone:rotation.time_zone|date:"D j M H:i T" }}``; no zone: unchanged."""
    if when is None or not zone:
        return when
    # do_timezone marks the value so that the date filter won't convert it back to local time.
    converted: datetime = do_timezone(when, ZoneInfo(zone))
    return converted


@register.filter
def time_until(when: datetime | None) -> str:
    """'2 days 3 hours', '3 hours 5 minutes' or '4 minutes' from now; '' when past."""
    if when is None:
        return ""
    seconds = int((when - timezone.now()).total_seconds())
    if seconds <= 0:
        return "now"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return " ".join(shown) or "less than a minute"


@register.filter
def zone_label(zone: str) -> str:
    """'America/Los_Angeles' as people write it: 'America/Los Angeles'."""
    return zone.replace("_", " ")


@register.filter
def weeks(span: timedelta) -> float:
    """A duration in weeks (168 hours each)."""
    return span / timedelta(days=7)


@register.filter
def ago(when: datetime | None) -> str:
    """'just now', '5 minutes ago', '2 days, 3 hours ago'."""
    if when is None:
        return ""
    if (timezone.now() - when).total_seconds() < 60:
        return "just now"
    return f"{timesince(when)} ago"
