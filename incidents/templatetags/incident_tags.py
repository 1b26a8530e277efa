"""Template helpers of the incident pages."""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines

from incidents.models import TIME_SHOWN, TimelineEntry, marked_times

register = template.Library()


@register.filter
def timeline_text(entry: TimelineEntry) -> SafeString:
    """An entry's words, escaped, line breaks kept, each time in the reader's zone."""

    def show(when: datetime) -> str:
        local = timezone.localtime(when)
        return f'<time datetime="{when:%Y-%m-%dT%H:%M:%SZ}">{local:{TIME_SHOWN}}</time>'

    def words(text: str) -> str:
        return escape(normalize_newlines(text)).replace("\n", "<br>")

    return mark_safe(marked_times(entry.text, show, words))


@register.filter
def duration(span: timedelta | None) -> str:
    """'4 min', '2 h 5 min', '3 d 4 h'; a dash for none."""
    if span is None:
        return "\u2013"
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
