"""App configuration for pagerduty."""

from django.apps import AppConfig


class PagerdutyConfig(AppConfig):
    name = "pagerduty"
