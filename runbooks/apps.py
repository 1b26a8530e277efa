"""App configuration for runbooks."""

from django.apps import AppConfig


class RunbooksConfig(AppConfig):
    name = "runbooks"
