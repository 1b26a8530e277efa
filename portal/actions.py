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


def ensure_managers_group() -> Group:
    """The group whose members edit rosters, shadow weeks and overrides in the admin."""
    group, _ = Group.objects.get_or_create(name=MANAGERS)
    editable = ["engineer", "rotation", "membership", "shadowbooking", "override"]
    readable = ["rosterera", "shift", "auditentry"]
    codenames = [
        f"{verb}_{model}" for model in editable for verb in ("add", "change", "delete", "view")
    ]
    codenames += [f"view_{model}" for model in readable]
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["rotation", "portal"], codename__in=codenames
        )
    )
    return group
