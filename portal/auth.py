"""Django's model backend, with the session's user remembered while the change stamp holds."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.utils import timezone

from portal.stamp import change_stamp, remember


class RememberingModelBackend(ModelBackend):
    """Users, groups and permissions are all watched by the change-stamp triggers, so a user
    remembered under the current stamp is exactly the row in the database."""

    def get_user(self, user_id: Any) -> User | None:
        def load() -> tuple[User | None, None]:
            user: User | None = super(RememberingModelBackend, self).get_user(user_id)
            return user, None

        return remember(("user", user_id), change_stamp(), timezone.now(), load)
