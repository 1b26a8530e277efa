"""Template helpers of the incident pages."""

from datetime import timedelta

from django import template

register = template.Library()


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
