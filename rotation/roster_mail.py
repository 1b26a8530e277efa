"""The email each person gets when a roster edit moves their weeks: their own changes only."""

from __future__ import annotations

from datetime import date, datetime

from portal.notices import tell
from rotation.models import Engineer, Rotation


def days(found: list[date]) -> str:
    return ", ".join(f"{day:%a %-d %b %Y}" for day in found)


def tell_roster_change(
    rotation: Rotation,
    entry_id: int,
    effective: datetime,
    changes: dict[str, dict[str, list[date]]],
) -> int:
    """Queue one notice per person whose weeks moved, keyed by the audit entry: written in the
    save's transaction, so each is sent once however often the sender runs. Returns how many."""
    names = dict(Engineer.objects.filter(email__in=changes).values_list("email", "name"))
    when = effective.astimezone(rotation.zone)
    told = 0
    for email, change in sorted(changes.items()):
        body = "\n".join(
            [
                f"Hello {names.get(email, email)},",
                "",
                f"The {rotation.name} roster changed, from the handoff on "
                f"{when:%a %-d %b %Y %H:%M %Z}. Your weeks over the next six months:",
                f"Weeks you are now on call: {days(change['gains']) or 'none added'}.",
                f"Weeks you are no longer on call: {days(change['loses']) or 'none removed'}.",
                "",
                "Your dashboard and /me/ have the details.",
            ]
        )
        told += tell(
            f"roster:{entry_id}:{email}",
            email,
            f"{rotation.name} on-call weeks changed",
            body,
        )
    return told
