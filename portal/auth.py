"""Django's model backend, with the session's user remembered while the people stamp holds."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.utils import timezone

from portal.stamp import remember, stamps


class RememberingModelBackend(ModelBackend):
    """Users, groups and permissions are all watched by the people topic's triggers, so a user
    remembered under its current stamp is exactly the row in the database (its permission
    cache included)."""

    def get_user(self, user_id: Any) -> User | None:
        def load() -> tuple[User | None, None]:
            user: User | None = super(RememberingModelBackend, self).get_user(user_id)
            return user, None

        return remember(("user", user_id), stamps("people"), timezone.now(), load)
