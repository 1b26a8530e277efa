"""App configuration for feeds."""

from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "feeds"
