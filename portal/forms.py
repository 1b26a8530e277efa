"""The login forms of the portal and of the admin, which take login attempts in turn, and the
reminder switches of /me/."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from portal.auth import attempted_username, client_ip, one_attempt_at_a_time
from portal.models import ReminderChoices


class LoginForm(AuthenticationForm):
    """Django's login form (/login/), checking the password, and so django-axes' count, under
    ``one_attempt_at_a_time`` for the username tried and the client's address."""

    def clean(self) -> dict[str, Any]:
        assert self.request is not None  # the login views pass the request
        if not settings.PASSWORD_LOGIN:
            raise ValidationError(
                f"Password login is turned off: sign in with {settings.OIDC_PROVIDER_NAME}.",
                code="password_login_off",
            )
        # The username as authenticate() gets it, so the lock and the count share a key.
        username = attempted_username(self.request, {"username": self.cleaned_data.get("username")})
        refusal: ValidationError | None = None
        with one_attempt_at_a_time(username, client_ip(self.request)):
            # A refusal leaves the lock only after the failure it counted is committed.
            try:
                cleaned = super().clean()
            except ValidationError as error:
                refusal = error
        if refusal is not None:
            raise refusal
        return cleaned


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """/admin/login/: the same, for staff only, as the admin's own form."""


class ReminderChoicesForm(forms.ModelForm[ReminderChoices]):
    """The reminders a person wants: a box each, every one ticked until they untick it."""

    class Meta:
        model = ReminderChoices
        fields = ["week_before", "day_before", "hour_before", "due_items", "schedule_changes"]
