"""The runbook editor form."""

from __future__ import annotations

from typing import Any

from django import forms

from rotation.models import Engineer
from runbooks.models import Runbook


class RunbookForm(forms.ModelForm[Runbook]):
    base_revision = forms.IntegerField(widget=forms.HiddenInput, initial=0)
    message = forms.CharField(
        label="What changed", required=False, max_length=300, help_text="Optional, for the history."
    )

    class Meta:
        model = Runbook
        fields = ["title", "body", "tags", "owner", "review_interval_days"]
        widgets = {"body": forms.Textarea(attrs={"rows": 22, "spellcheck": "true"})}
        labels = {"body": "Text (Markdown; [[Page title]] links a page)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner: Any = self.fields["owner"]
        owner.queryset = Engineer.objects.filter(is_active=True)
