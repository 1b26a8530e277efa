"""Forms of the rotation pages: they validate and nothing more (the actions check the rules).

The cover form's times are typed in the rotation's zone; time off is whole days in the
engineer's own zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from rotation.models import Engineer, Role, Rotation

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def wall_clock(when: datetime, zone: ZoneInfo) -> str:
    """``when`` as a datetime-local input shows it, read in ``zone``."""
    return when.astimezone(zone).strftime(LOCAL_INPUT)


class RotationTimeField(forms.DateTimeField):
    """A datetime-local input, read as a wall-clock time in the rotation's zone (the team says
    "Thursday 10:00" in its own zone, whatever the reader's or the server's)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT)
    input_formats = [LOCAL_INPUT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

    def __init__(self, zone: ZoneInfo, **kwargs: Any) -> None:
        self.zone = zone
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str) and value.strip():
            for fmt in self.input_formats:
                try:
                    naive = datetime.strptime(value.strip(), fmt)
                except ValueError:
                    continue
                return naive.replace(tzinfo=self.zone)
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class CoverForm(forms.Form):
    """Ask for cover, offer it, or (managers) assign it."""

    KINDS = [
        ("ask", "Ask for cover of my window"),
        ("offer", "Offer to cover someone"),
        ("assign", "Assign a cover (managers)"),
    ]

    kind = forms.ChoiceField(choices=KINDS, initial="ask", label="What")
    role = forms.ChoiceField(choices=[(Role.PRIMARY, "Primary"), (Role.SECONDARY, "Secondary")])
    covered = forms.ModelChoiceField(
        Engineer.objects.none(),
        required=False,
        label="Who is covered",
        help_text="Asking: you. Offering: the person who holds the window.",
    )
    taker = forms.ModelChoiceField(
        Engineer.objects.none(),
        required=False,
        label="Who covers",
        empty_label="Anyone (an open ask)",
        help_text="Asking: leave empty for anyone to take it, or name one colleague.",
    )
    note = forms.CharField(max_length=200, required=False, label="Note (why)")

    def __init__(
        self, *args: Any, rotation: Rotation, manager: bool, viewer_zone: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        zone = rotation.zone
        beside = f" Your zone: {viewer_zone}." if viewer_zone and viewer_zone != str(zone) else ""
        for name, label in (("starts_at", "From"), ("ends_at", "Until")):
            self.fields[name] = RotationTimeField(
                zone, label=label, help_text=f"In {rotation.name}'s zone, {zone}.{beside}"
            )
        people = Engineer.objects.filter(is_active=True).order_by("name")
        self.fields["covered"].queryset = people  # type: ignore[attr-defined]
        self.fields["taker"].queryset = people  # type: ignore[attr-defined]
        if not manager:
            self.fields["kind"].choices = self.KINDS[:2]  # type: ignore[attr-defined]
        self.order_fields(["kind", "role", "starts_at", "ends_at", "covered", "taker", "note"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in ("offer", "assign") and not data.get("covered"):
            self.add_error("covered", "Name the person the cover stands in for.")
        if kind == "assign" and not data.get("taker"):
            self.add_error("taker", "Name the person who covers.")
        return data


class DateInput(forms.DateInput):
    input_type = "date"


class TimeOffForm(forms.Form):
    """A range of days off, both included, in the engineer's own zone."""

    starts_on = forms.DateField(label="First day off", widget=DateInput)
    ends_on = forms.DateField(label="Last day off", widget=DateInput)
    note = forms.CharField(
        label="Note", max_length=200, required=False, help_text="Optional, e.g. 'family visit'."
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "The last day off is before the first.")
        return cleaned
