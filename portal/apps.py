"""The portal app: dashboard, health check, audit log and API tokens."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"
