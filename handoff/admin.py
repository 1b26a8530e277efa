"""Managers set each rotation's release runbook, triage hour and holidays here."""

from django.contrib import admin

from handoff.models import Holiday, WeekSetup


@admin.register(WeekSetup)
class WeekSetupAdmin(admin.ModelAdmin[WeekSetup]):
    list_display = ["rotation", "release_runbook", "triage_due_at"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin[Holiday]):
    list_display = ["day", "name", "rotation"]
    list_filter = ["rotation"]
