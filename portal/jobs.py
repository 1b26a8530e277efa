"""Background jobs of the portal itself: short, idempotent, safe when two workers overlap."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.utils import timezone


def clear_expired_sessions() -> str:
    """Delete the sessions past their expiry (what ``manage.py clearsessions`` does): a session
    nobody logged out of stays in the table until then, and only this removes it."""
    cleared, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return f"{cleared} expired session{'' if cleared == 1 else 's'} cleared"
