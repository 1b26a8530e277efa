"""Background jobs of the calendar feeds: short, idempotent, safe when two workers overlap."""

from __future__ import annotations

from feeds.actions import publish_calendars


def publish_all_calendars() -> str:
    """Bring the calendar feeds' events up to date (a no-op when nothing changed)."""
    publication = publish_calendars()
    return f"calendars published up to {publication.horizon:%Y-%m-%d}"
