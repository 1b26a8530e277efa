"""App configuration for rotation."""

from django.apps import AppConfig


class RotationConfig(AppConfig):
    name = "rotation"
