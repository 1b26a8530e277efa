"""Background jobs of the rotation app: short, idempotent, safe when two workers overlap."""

from __future__ import annotations

from rotation.actions import materialise_shifts
from rotation.models import Rotation


def materialise_all_shifts() -> str:
    """Keep a year of shifts stored ahead of every rotation (the horizon moves daily)."""
    created = deleted = 0
    for rotation in Rotation.objects.all():
        made, removed = materialise_shifts(rotation)
        created, deleted = created + made, deleted + removed
    return f"materialised shifts: {created} created, {deleted} removed"
