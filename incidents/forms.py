"""The incident forms: field errors for impossible input, nothing saved from a rejected form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from incidents import rules
from incidents.models import (
    TIME_FIELDS,
    ActionItem,
    HeadsUp,
    Incident,
    Postmortem,
    PostmortemStatus,
)
from rotation.models import Engineer


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class IncidentForm(forms.ModelForm[Incident]):
    """Open or change an incident; the model's rules reject times out of order."""

    class Meta:
        model = Incident
        fields = [
            "title",
            "severity",
            "status",
            "customer_impact",
            "services",
            "commander",
            "pagerduty_url",
            "runbooks",
            *TIME_FIELDS,
        ]
        widgets = {name: DateTimeInput() for name in TIME_FIELDS} | {
            "severity": forms.RadioSelect,
            # The form's template lists each choice in its own label: boxes, not <option>s.
            "runbooks": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: Any, may_change_commander: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        severity: Any = self.fields["severity"]
        severity.choices = [
            (code, f"{code}: {meaning}") for code, meaning in rules.SEVERITIES.items()
        ]
        zone = timezone.get_current_timezone_name()
        for name in TIME_FIELDS:
            self.fields[name].help_text = f"In {zone}."
        commander: Any = self.fields["commander"]
        commander.queryset = Engineer.objects.filter(is_active=True)
        commander.help_text = "Empty: the primary on call."
        if not may_change_commander:
            # The commander may publish the post-mortem, so after opening only a manager picks
            # them; a disabled field keeps its initial value whatever is posted, and
            # actions.update_incident refuses the change anyway.
            commander.disabled = True
            commander.help_text = "Only a manager may change the commander."
        self.fields["title"].widget.attrs["autofocus"] = True


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 2}))


class CustomerUpdateForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}))


class PostmortemForm(forms.ModelForm[Postmortem]):
    class Meta:
        model = Postmortem
        fields = [
            "summary",
            "impact",
            "root_causes",
            "trigger",
            "resolution",
            "detection",
            "went_well",
            "went_wrong",
            "got_lucky",
            "timeline",
            "status",
        ]
        widgets = {name: forms.Textarea(attrs={"rows": 4}) for name in fields if name != "status"}

    def __init__(self, *args: Any, may_publish: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status: Any = self.fields["status"]
        status.choices = PostmortemStatus.choices
        if not may_publish and (self.instance.status != PostmortemStatus.PUBLISHED):
            # Not offered to those who may not publish. Only the widget narrows: a crafted
            # "published" still passes the form and is refused by actions.save_postmortem
            # with its message, one rule in one place.
            status.widget.choices = [
                (value, label)
                for value, label in PostmortemStatus.choices
                if value != PostmortemStatus.PUBLISHED
            ]


class ActionItemForm(forms.ModelForm[ActionItem]):
    class Meta:
        model = ActionItem
        fields = ["title", "owner", "due_on", "tracker_url"]
        widgets = {"due_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner: Any = self.fields["owner"]
        owner.queryset = Engineer.objects.filter(is_active=True)


class IncidentFilter(forms.Form):
    q = forms.CharField(label="Search", required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), ("open", "Open"), *[(s, s.title()) for s in rules.STATUSES]],
    )
    severity = forms.ChoiceField(
        required=False, choices=[("", "Any severity"), *[(s, s) for s in rules.SEVERITIES]]
    )
    service = forms.CharField(required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class HeadsUpForm(forms.ModelForm[HeadsUp]):
    """Post a heads-up; times in the reader's zone, the model's rules give the field errors."""

    class Meta:
        model = HeadsUp
        fields = [
            "title",
            "kind",
            "starts_at",
            "ends_at",
            "services",
            "owner",
            "rollback",
            "customer_facing",
        ]
        widgets = {
            "starts_at": DateTimeInput(),
            "ends_at": DateTimeInput(),
            "kind": forms.RadioSelect,
            "rollback": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        for name in ("starts_at", "ends_at"):
            self.fields[name].help_text = f"In {zone}."
        owner: Any = self.fields["owner"]
        owner.queryset = Engineer.objects.filter(is_active=True)
        self.fields["title"].widget.attrs["autofocus"] = True
