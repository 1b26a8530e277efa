"""The write of a sign-in through the provider: linking the engineer's user and following the
managers' group claim."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import transaction

from portal.actions import MANAGERS, ensure_managers_group
from portal.models import AuditEntry
from rotation.models import Engineer
from sso.claims import Refusal, SignInRefusedError


@transaction.atomic
def sign_in_engineer(email: str, *, is_manager: bool | None) -> User:
    """The user of the engineer whose email is ``email`` (already verified by the provider).

    An engineer without a user gets one (no password: the provider vouches for them). An email
    matching no engineer is refused, never guessed. With ``is_manager`` not None, the user
    joins or leaves the Managers group to match the provider. The engineer's row is locked, so
    two first sign-ins at once make one user."""
    # No select_related: a sign-in that waited for the lock would read the user another one
    # just made through its older snapshot, as no user, and make a second.
    engineer = Engineer.objects.select_for_update().filter(email=email).first()
    if engineer is None:
        raise SignInRefusedError(Refusal.UNKNOWN_EMAIL, email=email)
    if not engineer.is_active or (engineer.user is not None and not engineer.user.is_active):
        raise SignInRefusedError(Refusal.INACTIVE)
    user = engineer.user
    if user is None:
        user = User(username=engineer.email, email=engineer.email)
        user.first_name = engineer.name.split()[0] if engineer.name.split() else ""
        user.set_unusable_password()
        user.save()
        engineer.user = user
        engineer.save(update_fields=["user"])
        AuditEntry.record("sso.linked", engineer.email, by=user)
    if is_manager is not None:
        follow_managers_claim(user, is_manager=is_manager)
    return user


def follow_managers_claim(user: User, *, is_manager: bool) -> None:
    """Adds ``user`` to the Managers group or removes them, as the provider's claim says."""
    managers = Group.objects.filter(name=MANAGERS).first() or ensure_managers_group()
    member = user.groups.filter(pk=managers.pk).exists()
    if is_manager and not member:
        user.groups.add(managers)
        AuditEntry.record("sso.managers_joined", user.get_username(), by=user)
    elif member and not is_manager:
        user.groups.remove(managers)
        AuditEntry.record("sso.managers_left", user.get_username(), by=user)
