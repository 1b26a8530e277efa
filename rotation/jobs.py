"""Background jobs of the rotation app: short, idempotent, safe when two workers overlap."""

from __future__ import annotations

from datetime import date, datetime

from django.core.mail import send_mail

from rotation.actions import materialise_shifts
from rotation.models import Engineer, Rotation


def materialise_all_shifts() -> str:
    """Keep a year of shifts stored ahead of every rotation (the horizon moves daily)."""
    created = deleted = 0
    for rotation in Rotation.objects.all():
        made, removed = materialise_shifts(rotation)
        created, deleted = created + made, deleted + removed
    return f"materialised shifts: {created} created, {deleted} removed"


def tell_people_of_roster_change(
    rotation_id: int, effective: str, changes: dict[str, dict[str, list[str]]]
) -> str:
    """Email each engineer whose weeks a roster change moved: which they gain and which they lose.

    Queued by ``save_roster`` once the change is committed; a retry re-sends, which is harmless.
    """
    rotation = Rotation.objects.get(pk=rotation_id)
    when = datetime.fromisoformat(effective).astimezone(rotation.zone)
    names = dict(Engineer.objects.filter(email__in=changes).values_list("email", "name"))
    sent = 0
    for email, change in sorted(changes.items()):
        gains = ", ".join(f"{date.fromisoformat(d):%a %-d %b %Y}" for d in change["gains"])
        loses = ", ".join(f"{date.fromisoformat(d):%a %-d %b %Y}" for d in change["loses"])
        body = "\n".join(
            [
                f"Hello {names.get(email, email)},",
                "",
                f"The {rotation.name} roster changed, from the handoff on "
                f"{when:%a %-d %b %Y %H:%M %Z}.",
                f"Weeks you are now on call: {gains or 'none added'}.",
                f"Weeks you are no longer on call: {loses or 'none removed'}.",
                "",
                "Your dashboard has the details.",
            ]
        )
        sent += send_mail(f"{rotation.name} on-call weeks changed", body, None, [email])
    return f"roster change on {rotation.slug}: told {sent} people"
