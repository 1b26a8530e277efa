"""App configuration for the primary's week: handoff report, release checklist, triage log."""

from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "handoff"
    verbose_name = "the week's rhythm"
