"""Forms of the rotation pages: they validate and nothing more (the actions check the rules)."""

from __future__ import annotations

from django import forms


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
