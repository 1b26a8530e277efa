"""Who each engineer is in Slack, and who each Slack user is here: matched by exact email,
stored, and never guessed. Someone Slack does not know is stored as ``UNMATCHED`` (shown on
the sync page) and looked up again after ``LOOK_AGAIN``, in case they joined since."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from portal.models import AuditEntry
from rotation.models import Engineer
from slack_app import api
from slack_app.models import UNMATCHED, SlackUser

LOOK_AGAIN = timedelta(hours=1)


def slack_id_of(engineer: Engineer, now: datetime) -> str | None:
    """The engineer's Slack user id (looked up by email unless stored); None when unmatched."""
    stored = SlackUser.objects.filter(engineer=engineer).first()
    if stored and (stored.matched or stored.checked_at > now - LOOK_AGAIN):
        return stored.slack_user_id if stored.matched else None
    found = api.user_id_by_email(engineer.email)
    SlackUser.objects.update_or_create(
        engineer=engineer, defaults={"slack_user_id": found or UNMATCHED, "checked_at": now}
    )
    if found and not (stored and stored.slack_user_id == found):
        AuditEntry.record("slack_app.user_matched", engineer.email, by=None, slack_user_id=found)
    return found


def match_all(engineers: Iterable[Engineer], now: datetime) -> list[Engineer]:
    """Look up each engineer not matched yet; the ones Slack does not know."""
    return [engineer for engineer in engineers if slack_id_of(engineer, now) is None]


def engineer_of_slack_user(user_id: str, now: datetime) -> Engineer | None:
    """The engineer a Slack user is: the stored match, else the one whose email is exactly the
    email on their Slack profile (then stored); None when nobody here has it."""
    stored = SlackUser.objects.filter(slack_user_id=user_id).select_related("engineer__user")
    if found := stored.first():
        return found.engineer
    email = api.email_of(user_id)
    if not email:
        return None
    engineer = Engineer.objects.select_related("user").filter(email__iexact=email).first()
    if engineer is not None:
        SlackUser.objects.update_or_create(
            engineer=engineer, defaults={"slack_user_id": user_id, "checked_at": now}
        )
        AuditEntry.record("slack_app.user_matched", engineer.email, by=None, slack_user_id=user_id)
    return engineer


def mentions(engineers: Iterable[Engineer]) -> dict[int, str]:
    """Engineer id -> Slack user id, for the stored matches only (a page never looks up)."""
    ids = [engineer.pk for engineer in engineers]
    rows = SlackUser.objects.filter(engineer_id__in=ids).exclude(slack_user_id=UNMATCHED)
    return dict(rows.values_list("engineer_id", "slack_user_id"))


def unmatched() -> list[Engineer]:
    """Active engineers the last lookup could not find in Slack, by name."""
    return list(
        Engineer.objects.filter(slack__slack_user_id=UNMATCHED, is_active=True).order_by("name")
    )
