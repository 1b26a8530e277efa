"""Admin for managers: each rotation's target for acknowledging a page."""

from __future__ import annotations

from django.contrib import admin

from pagerduty.models import AcknowledgeTarget


@admin.register(AcknowledgeTarget)
class AcknowledgeTargetAdmin(admin.ModelAdmin[AcknowledgeTarget]):
    list_display = ["rotation", "minutes"]
    # A plain field: the target changes no schedule and nobody is told, so no action is needed.
    fields = ["rotation", "minutes"]
