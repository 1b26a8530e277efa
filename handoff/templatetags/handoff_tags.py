"""Reading a report's stored times and dates back for display in the reader's zone."""

from __future__ import annotations

from datetime import date, datetime

from django import template

register = template.Library()


@register.filter
def from_iso(value: str | None) -> datetime | date | None:
    """An ISO string from a report's contents as the datetime (or date) it names: the
    ``date`` filter then shows a datetime in the current (the reader's) zone."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    except ValueError:
        return None
