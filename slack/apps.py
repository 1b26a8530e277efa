"""App configuration for slack."""

from django.apps import AppConfig


class SlackConfig(AppConfig):
    name = "slack"
