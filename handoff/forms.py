"""Forms of the week's pages."""

from __future__ import annotations

from django import forms


class StepTickForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=1000)
    done = forms.BooleanField(required=False)


class TriageForm(forms.Form):
    day = forms.DateField(widget=forms.HiddenInput)
    note = forms.CharField(
        max_length=500,
        required=False,
        help_text="What stood out, or 'quiet'. At most 500 characters.",
    )
