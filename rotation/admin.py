"""Admin for managers: engineers, rotations with their roster order, shadow weeks, overrides.

Every save goes through ``rotation.actions``: rules are checked by the engine before anything is
written, and the schedule ahead is re-materialised while started shifts stay as they were.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime, RelatedFieldWidgetWrapper
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone

from portal.models import AuditEntry
from portal.nul import refuse_nul_in_json
from rotation import actions
from rotation.models import (
    Engineer,
    Membership,
    Override,
    RosterEra,
    Rotation,
    ShadowBooking,
    Shift,
)
from rotation.roster_checks import FEED_ROLES, feed_url_problem


def ordered_members(formset: BaseInlineFormSet[Any, Any, Any]) -> list[Engineer]:
    rows = [
        form.cleaned_data
        for form in formset.forms
        if form.cleaned_data
        and not form.cleaned_data.get("DELETE")
        and form.cleaned_data.get("engineer")
    ]
    rows.sort(key=lambda row: row.get("position") or 0)
    return [row["engineer"] for row in rows]


def name_widget(field: forms.Field, name: str) -> None:
    """An accessible name for a field drawn without a <label> (an inline row's cell under its
    column heading); through the admin's related-object wrapper to the widget it draws."""
    widget = field.widget
    if isinstance(widget, RelatedFieldWidgetWrapper):
        widget = widget.widget
    widget.attrs["aria-label"] = name


class MembershipForm(forms.ModelForm[Membership]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name_widget(self.fields["position"], "Position")
        name_widget(self.fields["engineer"], "Engineer")

    # Uniqueness is left to the formset, which sees the whole order and names the person listed
    # twice; row by row, moving someone to another row reads as a duplicate of their old row.
    def validate_unique(self) -> None:
        pass

    def validate_constraints(self) -> None:
        pass


class MembershipFormSet(BaseInlineFormSet[Membership, Rotation, Any]):
    def add_fields(self, form: forms.BaseForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            name_widget(form.fields["DELETE"], "Remove from the roster")

    def clean(self) -> None:
        if any(self.errors):
            return
        rotation = self.instance
        if not rotation.starts_on:
            return  # the rotation form itself is invalid and says why
        try:
            actions.plan_roster(rotation, ordered_members(self))
        except actions.RosterError as error:
            raise ValidationError([problem.message for problem in error.problems]) from None
        super().clean()


class MembershipInline(admin.TabularInline[Membership, Rotation]):
    model = Membership
    form = MembershipForm
    formset = MembershipFormSet
    fields = ["position", "engineer"]
    autocomplete_fields = ["engineer"]
    extra = 1
    ordering = ["position"]
    verbose_name = "member"
    verbose_name_plural = "Roster order"


class RosterEraInline(admin.TabularInline[RosterEra, Rotation]):
    model = RosterEra
    fields = (
        "from_handoff",
        "roster",
        "time_zone",
        "handoff_weekday",
        "handoff_time",
        "made_by",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Roster history"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="from")
    def from_handoff(self, era: RosterEra) -> str:
        return f"{era.starts_at.astimezone(era.calendar.time_zone):%a %-d %b %Y %H:%M %Z}"

    # A name, not a link: managers may not open user accounts.
    @admin.display(description="created by")
    def made_by(self, era: RosterEra) -> str:
        return str(era.created_by) if era.created_by else "the portal"

    @admin.display(description="order")
    def roster(self, era: RosterEra) -> str:
        names = dict(Engineer.objects.filter(id__in=era.member_ids).values_list("id", "name"))
        return ", ".join(names.get(member_id, "?") for member_id in era.member_ids)


def roster_version(rotation: Rotation) -> str:
    """What a change form was opened on: the rotation's handoff and its roster rows. A form
    saved after someone else's save would otherwise replace their roster with an older one (its
    rows' ids no longer exist, which the admin showed as an error with no visible message)."""
    rows = list(rotation.memberships.order_by("position").values_list("id", "engineer_id"))
    handoff = Rotation.objects.filter(pk=rotation.pk).values_list(
        "time_zone", "handoff_weekday", "handoff_time", "starts_on"
    )
    return hashlib.sha256(repr((rows, list(handoff))).encode()).hexdigest()[:20]


def last_roster_change(rotation: Rotation) -> str:
    entry = (
        AuditEntry.objects.filter(action="roster.saved", subject=rotation.slug)
        .select_related("actor")
        .first()
    )
    if entry is None:
        return "Someone changed this rotation"
    who = "Someone"
    if entry.actor is not None:
        engineer = Engineer.objects.filter(user=entry.actor).values_list("name", flat=True).first()
        who = engineer or entry.actor.get_full_name() or entry.actor.username
    return f"{who} changed this rotation at {timezone.localtime(entry.at):%a %-d %b %H:%M %Z}"


class RotationForm(forms.ModelForm[Rotation]):
    time_zone = forms.ChoiceField(choices=[(zone, zone) for zone in sorted(available_timezones())])
    roster_version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roster_version"].initial = roster_version(self.instance)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk:
            # The admin's change view is one transaction: the lock holds until the save is done,
            # so no other save can come between this comparison and the write.
            actions.lock_rotation(self.instance)
            if cleaned.get("roster_version") != roster_version(self.instance):
                raise ValidationError(
                    f"{last_roster_change(self.instance)}, since you opened this page. Nothing was "
                    "saved: reload the page to see the roster as it is now, then make your "
                    "change again."
                )
        return cleaned

    class Meta:
        model = Rotation
        fields = [
            "name",
            "slug",
            "time_zone",
            "handoff_weekday",
            "handoff_time",
            "starts_on",
            "pagerduty_escalation_policy_id",
            "pagerduty_feeds",
        ]
        widgets = {"handoff_time": forms.TimeInput(format="%H:%M")}
        help_texts = {
            "pagerduty_feeds": 'Each role\'s PagerDuty schedule feed, e.g. {"primary": '
            '"webcal://acme.pagerduty.com/private/.../feed/P123ABC"}.'
        }

    def clean_pagerduty_feeds(self) -> Any:
        """Feeds by role; a URL the worker would refuse to fetch is refused here, named."""
        feeds = self.cleaned_data["pagerduty_feeds"] or {}
        refuse_nul_in_json(feeds)
        if not isinstance(feeds, dict):
            raise ValidationError('Enter an object of URLs by role: {"primary": "webcal://..."}.')
        before = self.initial.get("pagerduty_feeds") or {}
        problems = []
        for role, url in feeds.items():
            if role not in FEED_ROLES:
                problems.append(f"{role}: not a role (expected one of: {', '.join(FEED_ROLES)}).")
            elif not isinstance(url, str):
                problems.append(f"{role}: the URL must be a string.")
            # A URL already saved is checked again when fetched; looking it up on every save
            # would make a DNS hiccup block unrelated roster edits.
            elif not (isinstance(before, dict) and before.get(role) == url) and (
                problem := feed_url_problem(url, resolve=True)
            ):
                problems.append(f"{role}: {problem}")
        if problems:
            raise ValidationError(problems)
        return feeds


@admin.register(Rotation)
class RotationAdmin(admin.ModelAdmin[Rotation]):
    form = RotationForm
    list_display = ["name", "slug", "time_zone", "handoff_weekday", "handoff_time", "starts_on"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, RosterEraInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "roster_version"]}),
        (
            "Handoff",
            {
                "fields": ["time_zone", "handoff_weekday", "handoff_time", "starts_on"],
                "description": "Roster changes take effect at the next handoff. This week's "
                "secondary is always next week's primary; the order below continues from them.",
            },
        ),
        (
            "PagerDuty",
            {
                "fields": ["pagerduty_escalation_policy_id", "pagerduty_feeds"],
                "classes": ["collapse"],
            },
        ),
    ]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            formset.save()
            return
        plan = actions.save_roster(form.instance, ordered_members(formset), by=request.user)
        # The action rewrote the rows; the admin's change message reads these lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        names = dict(Engineer.objects.filter(email__in=plan.changes).values_list("email", "name"))
        if plan.changes:
            when = plan.effective.astimezone(form.instance.zone)
            messages.info(request, f"From the handoff on {when:%a %-d %b %Y %H:%M %Z}:")
        for email, change_of_weeks in sorted(plan.changes.items()):
            gains, loses = (weeks_list(change_of_weeks[key]) for key in ("gains", "loses"))
            messages.info(request, f"{names.get(email, email)} gains {gains}; loses {loses}.")


def weeks_list(days: list[date], shown: int = 6) -> str:
    """'week of 8 Dec, 15 Dec and 3 more', for the who-gains-and-loses message."""
    if not days:
        return "no weeks"
    text = ", ".join(f"{day:%-d %b}" for day in days[:shown])
    more = f" and {len(days) - shown} more" if len(days) > shown else ""
    return f"weeks of {text}{more}"


class EngineerForm(forms.ModelForm[Engineer]):
    class Meta:
        model = Engineer
        fields = ["user", "name", "email", "phone", "pagerduty_user_id", "time_zone", "is_active"]

    def clean_is_active(self) -> bool:
        is_active: bool = self.cleaned_data["is_active"]
        if self.instance.pk and self.instance.is_active and not is_active:
            found = actions.deactivation_problems(self.instance)
            if found:
                raise ValidationError(found)
        return is_active


@admin.register(Engineer)
class EngineerAdmin(admin.ModelAdmin[Engineer]):
    form = EngineerForm
    list_display = ["name", "email", "phone", "pagerduty_user_id", "time_zone", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "email"]
    autocomplete_fields = ["user"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # past shifts name them: deactivate instead

    def save_model(self, request: HttpRequest, obj: Engineer, form: Any, change: bool) -> None:
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True  # the action makes the change, under the rotations' locks
        super().save_model(request, obj, form, change)
        if deactivating:
            try:
                actions.deactivate_engineer(obj, by=request.user)
            except actions.RosterError as error:
                messages.error(request, str(error))


class ShadowBookingForm(forms.ModelForm[ShadowBooking]):
    class Meta:
        model = ShadowBooking
        fields = ["rotation", "engineer", "week_of"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rotation, engineer, week_of = (
            data.get("rotation"),
            data.get("engineer"),
            data.get("week_of"),
        )
        if rotation and engineer and week_of:
            try:
                actions.plan_shadow_week(rotation, engineer, week_of)
            except actions.RosterError as error:
                raise ValidationError([problem.message for problem in error.problems]) from None
        return data


@admin.register(ShadowBooking)
class ShadowBookingAdmin(admin.ModelAdmin[ShadowBooking]):
    form = ShadowBookingForm
    list_display = ["engineer", "rotation", "week_of"]
    list_filter = ["rotation"]
    autocomplete_fields = ["engineer"]

    def save_model(self, request: HttpRequest, obj: ShadowBooking, form: Any, change: bool) -> None:
        actions.book_shadow_week(obj.rotation, obj.engineer, obj.week_of, by=request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # book another week instead: a booking is history once it starts


def in_rotation_zone(when: datetime, zone: ZoneInfo) -> str:
    """A time as the rotation's people read it, and as the reader does where that differs."""
    shown = f"{when.astimezone(zone):%a %-d %b %Y %H:%M %Z}"
    mine = timezone.localtime(when)
    if mine.utcoffset() != when.astimezone(zone).utcoffset():
        shown += f" (your time {mine:%a %H:%M %Z})"
    return shown


class WallClockField(forms.SplitDateTimeField):
    """A date and a time as typed, left naive: the form reads them in the rotation's zone."""

    def compress(self, data_list: Any) -> datetime | None:
        if not data_list:
            return None
        day, at = data_list
        if day is None or at is None:
            raise ValidationError(
                self.error_messages["invalid_date" if day is None else "invalid_time"]
            )
        return datetime.combine(day, at)


class OverrideForm(forms.ModelForm[Override]):
    """An override's window is typed in its rotation's own zone, as the team says it ("from
    Tuesday 10:00"), whatever the manager's zone or the portal's."""

    starts_at = WallClockField(widget=AdminSplitDateTime)
    ends_at = WallClockField(widget=AdminSplitDateTime)

    class Meta:
        model = Override
        fields = ["rotation", "role", "engineer", "starts_at", "ends_at", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = ", ".join(
            f"{name}: {zone}" for name, zone in Rotation.objects.values_list("name", "time_zone")
        )
        for name in ("starts_at", "ends_at"):
            self.fields[name].help_text = f"In the rotation's own zone ({zones})."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rotation = data.get("rotation")
        for name in ("starts_at", "ends_at"):
            if rotation is not None and data.get(name) is not None:
                data[name] = data[name].replace(tzinfo=rotation.zone)
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError({"ends_at": "An override must end after it starts."})
        if all(data.get(key) for key in ("rotation", "role", "engineer", "starts_at", "ends_at")):
            found = actions.override_problems(
                data["rotation"], data["role"], data["engineer"], data["starts_at"], data["ends_at"]
            )
            for problem in found:
                # The rule is about the person put on call, or else the window.
                field = "engineer" if problem.member else "starts_at"
                self.add_error(field, problem.message)
        return data


class WindowInRotationZone:
    """List columns for a window (an override's, a shift's) in its rotation's zone."""

    @admin.display(description="starts", ordering="starts_at")
    def starts(self, window: Override | Shift) -> str:
        return in_rotation_zone(window.starts_at, window.rotation.zone)

    @admin.display(description="ends", ordering="ends_at")
    def ends(self, window: Override | Shift) -> str:
        return in_rotation_zone(window.ends_at, window.rotation.zone)


@admin.register(Override)
class OverrideAdmin(WindowInRotationZone, admin.ModelAdmin[Override]):
    form = OverrideForm
    list_display = ["rotation", "role", "engineer", "starts", "ends", "reason", "created_by"]
    list_filter = ["rotation", "role"]
    list_select_related = ["rotation", "engineer", "created_by"]
    autocomplete_fields = ["engineer"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # end it early or add a later override instead: both keep the record

    def delete_model(self, request: HttpRequest, obj: Override) -> None:
        try:
            actions.delete_override(obj, by=request.user)
        except actions.RosterError as error:
            messages.error(request, f"{obj} was kept: {error}")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Override]) -> None:
        for override in queryset.select_related("rotation", "engineer"):
            self.delete_model(request, override)

    def save_model(self, request: HttpRequest, obj: Override, form: Any, change: bool) -> None:
        created = actions.create_override(
            obj.rotation,
            role=obj.role,
            engineer=obj.engineer,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
            reason=obj.reason,
            by=request.user,
        )
        obj.pk = created.pk


@admin.register(Shift)
class ShiftAdmin(WindowInRotationZone, admin.ModelAdmin[Shift]):
    list_display = ["rotation", "role", "engineer", "starts", "ends"]
    list_filter = ["rotation", "role"]
    date_hierarchy = "starts_at"
    list_select_related = ["rotation", "engineer"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # materialised from the roster: edit the roster or add an override

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Shift]:
        return super().get_queryset(request).select_related("rotation", "engineer")


# Covers have their own module (this one is long); registering them needs it imported.
from rotation import cover_admin  # noqa: E402, F401
