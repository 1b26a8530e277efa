"""Writes of the portal app: personal API tokens, reminder choices."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from portal.models import Actor, ApiToken, AuditEntry, ReminderChoices, hash_token


def api_token_version(user: User) -> str:
    """Which token a form was opened on: a prefix of its hash, "none" before the first."""
    current = ApiToken.objects.filter(user=user).values_list("token_hash", flat=True).first()
    return current[:16] if current else "none"


class TokenFormUsedError(Exception):
    """The token form was already sent: the token it made is not replaced by a resend."""


@transaction.atomic
def rotate_api_token(user: User, *, by: Actor, replacing: str | None = None) -> str:
    """A new token for ``user``, replacing any old one; the raw token is returned once.

    With ``replacing`` (``api_token_version`` when the form was shown), a form sent again (a
    reload of the page that showed the token, a second tab) raises TokenFormUsedError and
    replaces nothing: the token just shown keeps working."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one rotation at a time
    if replacing is not None and replacing != api_token_version(user):
        raise TokenFormUsedError
    token = ApiToken.generate()
    ApiToken.objects.update_or_create(user=user, defaults={"token_hash": hash_token(token)})
    AuditEntry.record("api_token.rotated", user.get_username(), by=by)
    return token


@transaction.atomic
def revoke_api_token(user: User, *, by: Actor) -> None:
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    if deleted:
        AuditEntry.record("api_token.revoked", user.get_username(), by=by)


REMINDER_CHOICES = ["week_before", "day_before", "hour_before", "due_items", "schedule_changes"]


@transaction.atomic
def choose_reminders(engineer_id: int, choices: dict[str, bool], *, by: Actor) -> ReminderChoices:
    """Save which reminders the engineer wants; an audit entry names what was switched."""
    row, _ = ReminderChoices.objects.select_for_update().get_or_create(engineer_id=engineer_id)
    changed = {
        name: choices[name] for name in REMINDER_CHOICES if getattr(row, name) != choices[name]
    }
    for name, value in changed.items():
        setattr(row, name, value)
    if changed:
        row.save(update_fields=list(changed))
        AuditEntry.record("reminders.chosen", str(row.engineer), by=by, **changed)
    return row


MANAGERS = "Managers"
EDITABLE = ["engineer", "rotation", "membership", "shadowbooking", "override", "coverrequest"]
READABLE = ["rosterera", "shift", "auditentry"]


def ensure_managers_group() -> Group:
    """The group whose members edit rosters, shadow weeks and overrides in the admin.

    Every install has it from portal/migrations/0004; this puts it back (after a test flush, or
    if someone deleted it) with its permissions.
    """
    group, _ = Group.objects.get_or_create(name=MANAGERS)
    codenames = [
        f"{verb}_{model}" for model in EDITABLE for verb in ("add", "change", "delete", "view")
    ]
    codenames += [f"view_{model}" for model in READABLE]
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["rotation", "portal"], codename__in=codenames
        )
        # The on-call SLO's target per rotation (pagerduty/migrations/0004).
        | Permission.objects.filter(
            content_type__app_label="pagerduty", codename__endswith="_acknowledgetarget"
        )
    )
    return group
