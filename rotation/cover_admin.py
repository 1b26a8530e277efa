"""Admin for covers: a manager assigns one with times typed in the rotation's own zone.

Saving goes through ``rotation.covers.assign_cover``, so the same rules, audit and emails
apply as on the portal's cover page; the errors name times in the rotation's zone.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.http import HttpRequest
from django.utils import timezone

from rotation import covers
from rotation.admin import WallClockField, WindowInRotationZone
from rotation.models import CoverRequest, Rotation


class CoverRequestForm(forms.ModelForm[CoverRequest]):
    """The window is typed as the team says it, in the rotation's zone, whatever the
    manager's zone or the portal's."""

    starts_at = WallClockField(widget=AdminSplitDateTime)
    ends_at = WallClockField(widget=AdminSplitDateTime)

    class Meta:
        model = CoverRequest
        fields = ["rotation", "role", "covered", "taker", "starts_at", "ends_at", "note"]
        labels = {"covered": "Who is covered", "taker": "Who covers"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = ", ".join(
            f"{name}: {zone}" for name, zone in Rotation.objects.values_list("name", "time_zone")
        )
        for name in ("starts_at", "ends_at"):
            self.fields[name].help_text = f"In the rotation's own zone ({zones})."
        self.fields["taker"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rotation = data.get("rotation")
        for name in ("starts_at", "ends_at"):
            if rotation is not None and data.get(name) is not None:
                data[name] = data[name].replace(tzinfo=rotation.zone)
        needed = ("rotation", "role", "covered", "taker", "starts_at", "ends_at")
        if all(data.get(key) for key in needed):
            found = covers.cover_problems(
                data["rotation"],
                data["role"],
                data["taker"],
                data["covered"],
                data["starts_at"],
                data["ends_at"],
                now=timezone.now(),
            )
            for problem in found:
                field = "covered" if problem.code == "cover-not-yours" else "starts_at"
                self.add_error(
                    "taker" if problem.member and field != "covered" else field, problem.message
                )
        return data


@admin.register(CoverRequest)
class CoverRequestAdmin(WindowInRotationZone, admin.ModelAdmin[CoverRequest]):
    form = CoverRequestForm
    list_display = ["rotation", "kind", "role", "covered", "taker", "starts", "ends", "status"]
    list_filter = ["rotation", "status", "kind"]
    list_select_related = ["rotation", "covered", "taker"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # decided on the portal's pages, by the two people

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancel it on the portal, which removes its override by the rules

    def save_model(self, request: HttpRequest, obj: CoverRequest, form: Any, change: bool) -> None:
        assert obj.taker is not None
        made = covers.assign_cover(
            obj.rotation,
            taker=obj.taker,
            covered=obj.covered,
            role=obj.role,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
            note=obj.note,
            by=request.user,
        )
        obj.pk = made.pk
