"""The handoff report's one free-text field."""

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
