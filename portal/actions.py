"""Writes of the portal app: personal API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import transaction

from portal.models import ApiToken, AuditEntry, hash_token


@transaction.atomic
def rotate_api_token(
    user: AbstractBaseUser | AnonymousUser, *, by: AbstractBaseUser | AnonymousUser
) -> str:
    """A new token for ``user``, replacing any old one; the raw token is returned once."""
    assert isinstance(user, AbstractBaseUser)
    token = ApiToken.generate()
    ApiToken.objects.update_or_create(user=user, defaults={"token_hash": hash_token(token)})
    AuditEntry.objects.create(
        action="api_token.rotated",
        subject=user.get_username(),
        actor=by if isinstance(by, AbstractBaseUser) else None,
    )
    return token


@transaction.atomic
def revoke_api_token(
    user: AbstractBaseUser | AnonymousUser, *, by: AbstractBaseUser | AnonymousUser
) -> None:
    assert isinstance(user, AbstractBaseUser)
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    if deleted:
        AuditEntry.objects.create(
            action="api_token.revoked",
            subject=user.get_username(),
            actor=by if isinstance(by, AbstractBaseUser) else None,
        )


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
