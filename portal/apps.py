"""The portal app: dashboard, health check, audit log and API tokens."""

from django.apps import AppConfig
from django.core import checks


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import keycheck  # imports models: only once the apps are loaded

        checks.register(keycheck.secret_key_check, "secret_key")
