"""Forms of the week's pages: the report's worries, a release step's tick, a triage day."""

from __future__ import annotations

from django import forms

from handoff.models import HandoffReport


class WorriesForm(forms.ModelForm[HandoffReport]):
    class Meta:
        model = HandoffReport
        fields = ["worries"]
        labels = {"worries": "What I am worried about"}
        widgets = {"worries": forms.Textarea(attrs={"rows": 5})}
        help_texts = {"worries": "Anything the next primary should watch that the sections miss."}


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
