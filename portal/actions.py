"""Writes of the portal app: personal API tokens."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from portal.models import Actor, ApiToken, AuditEntry, hash_token


@transaction.atomic
def rotate_api_token(user: User, *, by: Actor) -> str:
    """A new token for ``user``, replacing any old one; the raw token is returned once."""
    token = ApiToken.generate()
    ApiToken.objects.update_or_create(user=user, defaults={"token_hash": hash_token(token)})
    AuditEntry.record("api_token.rotated", user.get_username(), by=by)
    return token


@transaction.atomic
def revoke_api_token(user: User, *, by: Actor) -> None:
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    if deleted:
        AuditEntry.record("api_token.revoked", user.get_username(), by=by)


MANAGERS = "Managers"
EDITABLE = ["engineer", "rotation", "membership", "shadowbooking", "override"]
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
    )
    return group
