"""Engineers, rotations and their rosters, shadow weeks, overrides and materialised shifts."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from rotation import schedule, stretches


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/Los_Angeles)")


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class Role(models.TextChoices):
    PRIMARY = schedule.Duty.PRIMARY.value, "Primary"
    SECONDARY = schedule.Duty.SECONDARY.value, "Secondary"
    SHADOW = schedule.Duty.SHADOW.value, "Shadow"


class Engineer(models.Model):
    """A person who can be on call; linked to the Django user they log in as."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    phone = models.CharField(max_length=40, blank=True)
    pagerduty_user_id = models.CharField("PagerDuty user id", max_length=20, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Rotation(models.Model):
    """A weekly rotation: its calendar, and (through Membership) the roster order to come."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64, default="America/Los_Angeles", validators=[validate_time_zone]
    )
    handoff_weekday = models.IntegerField(choices=Weekday.choices, default=Weekday.TUESDAY)
    handoff_time = models.TimeField(default=time(10, 0))
    starts_on = models.DateField(help_text="The first handoff: week 0 begins here.")
    pagerduty_escalation_policy_id = models.CharField(max_length=20, blank=True)
    pagerduty_feeds = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("rotation:schedule", args=[self.slug])

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def calendar(self) -> schedule.Calendar:
        return schedule.Calendar(self.zone, self.handoff_weekday, self.handoff_time)

    def clean(self) -> None:
        if self.starts_on and self.starts_on.weekday() != self.handoff_weekday:
            day = Weekday(self.handoff_weekday).label
            raise ValidationError(
                {"starts_on": f"The first handoff must fall on the handoff day ({day})."}
            )


class Membership(models.Model):
    """One place in a rotation's roster order: the order a manager edits."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="memberships")
    engineer = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="memberships")
    position = models.PositiveIntegerField(
        help_text="1 is first in the order; renumber to reorder."
    )

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "engineer"], name="member_once_per_rotation"
            )
        ]

    def __str__(self) -> str:
        return str(self.engineer)


class RosterEra(models.Model):
    """The roster order and calendar in force from ``starts_at`` until the next era.

    Appended by ``rotation.actions.save_roster`` at the next handoff, so history stays as it was.
    """

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="eras")
    starts_at = models.DateTimeField()
    member_ids = models.JSONField(help_text="Engineer ids in roster order.")
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    handoff_weekday = models.IntegerField(choices=Weekday.choices)
    handoff_time = models.TimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["rotation", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "starts_at"], name="one_era_per_instant")
        ]

    def __str__(self) -> str:
        return f"{self.rotation} from {self.starts_at.astimezone(ZoneInfo(self.time_zone)):%Y-%m-%d %H:%M %Z}"

    @property
    def calendar(self) -> schedule.Calendar:
        return schedule.Calendar(ZoneInfo(self.time_zone), self.handoff_weekday, self.handoff_time)


class ShadowBooking(models.Model):
    """A new engineer shadows the primary for the week that starts on ``week_of``."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="shadows")
    engineer = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="shadow_weeks")
    week_of = models.DateField(help_text="The handoff date the shadow week starts on.")

    class Meta:
        ordering = ["rotation", "week_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "engineer", "week_of"], name="one_shadow_booking_per_week"
            )
        ]

    def __str__(self) -> str:
        return f"{self.engineer} shadows {self.rotation} from {self.week_of}"


class OverrideQuerySet(models.QuerySet["Override"]):
    def overlapping(self, start: datetime, end: datetime) -> OverrideQuerySet:
        return self.filter(starts_at__lt=end, ends_at__gt=start)


class Override(models.Model):
    """Someone else holds a role for a window (an hour, a day, a week); it beats the schedule."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="overrides")
    role = models.CharField(
        max_length=10, choices=[(Role.PRIMARY, "Primary"), (Role.SECONDARY, "Secondary")]
    )
    engineer = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="overrides")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    covers = models.ForeignKey(
        Engineer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="covered_by",
        help_text="A cover: the person it stands in for. It applies only while they hold the "
        "window, and is flagged when they no longer do.",
    )
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="When the covered person stopped holding the window."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OverrideQuerySet.as_manager()

    class Meta:
        ordering = ["rotation", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["rotation", "ends_at"])]

    def __str__(self) -> str:
        # In the rotation's zone, where its people read times (admin messages name overrides).
        zone = self.rotation.zone
        start, end = self.starts_at.astimezone(zone), self.ends_at.astimezone(zone)
        return f"{self.engineer} as {self.role} {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M %Z}"

    def as_schedule(self) -> stretches.OverrideWindow:
        covers = self.covers.email if self.covers is not None else None
        return stretches.OverrideWindow(
            schedule.Duty(self.role),
            self.engineer.email,
            self.starts_at,
            self.ends_at,
            ref=self.id,
            reason=stretches.Reason.COVER if covers else stretches.Reason.OVERRIDE,
            covers=covers,
        )


class SwapStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


class Swap(models.Model):
    """``proposer`` offers their stint starting at ``proposer_stint`` for ``partner``'s starting
    at ``partner_stint`` (both the UTC handoffs that begin the secondary week). Accepted swaps
    are part of the schedule, in the order they were accepted."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="swaps")
    proposer = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="swaps_proposed")
    proposer_stint = models.DateTimeField()
    partner = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="swaps_offered")
    partner_stint = models.DateTimeField()
    status = models.CharField(max_length=10, choices=SwapStatus.choices, default="proposed")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="When a roster edit took a stint from its person."
    )

    class Meta:
        ordering = ["rotation", "decided_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(proposer=models.F("partner")), name="swap_between_two_people"
            )
        ]
        indexes = [models.Index(fields=["rotation", "status"])]

    def __str__(self) -> str:
        return f"{self.proposer} ⇄ {self.partner} ({self.status})"

    def as_schedule(self) -> schedule.StintSwap:
        return schedule.StintSwap(
            self.proposer.email,
            self.proposer_stint,
            self.partner.email,
            self.partner_stint,
            ref=self.id,
        )


class CoverKind(models.TextChoices):
    ASK = "ask", "Asked for"
    OFFER = "offer", "Offered"


class CoverStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


class CoverRequest(models.Model):
    """A cover asked for by the person who holds the window (``covered``; anyone, or ``taker``
    alone, may take it) or offered by ``taker`` to them. Accepting creates ``override``."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="cover_requests")
    kind = models.CharField(max_length=5, choices=CoverKind.choices)
    role = models.CharField(
        max_length=10, choices=[(Role.PRIMARY, "Primary"), (Role.SECONDARY, "Secondary")]
    )
    covered = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="cover_asks")
    taker = models.ForeignKey(
        Engineer, null=True, blank=True, on_delete=models.PROTECT, related_name="cover_offers"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=CoverStatus.choices, default="open")
    override = models.OneToOneField(
        Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="request"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="cover_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"cover for {self.covered} as {self.role} ({self.status})"


class TimeOff(models.Model):
    """``engineer`` is away from ``starts_on`` to ``ends_on`` (both included), in their zone."""

    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="time_off")
    starts_on = models.DateField()
    ends_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engineer", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="time_off_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["engineer", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.engineer} away {self.starts_on} to {self.ends_on}"


class OnboardingStep(models.Model):
    """One item of a newcomer's checklist for a rotation, ticked by them or that week's primary."""

    class Step(models.TextChoices):
        READ_GUIDE = "read_guide", "Read the on-call guide runbook"
        SUBSCRIBE = "subscribe", "Subscribe to your calendar feed"
        PAGERDUTY = "pagerduty", "Have your PagerDuty user linked"
        HANDOFF = "handoff", "Attend a handoff"

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="onboarding")
    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="onboarding")
    step = models.CharField(max_length=20, choices=Step.choices)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["rotation", "engineer", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "engineer", "step"], name="one_onboarding_step_each"
            )
        ]

    def __str__(self) -> str:
        return f"{self.engineer}: {self.get_step_display()}"


class ShiftQuerySet(models.QuerySet["Shift"]):
    def upcoming_for(self, engineer: Engineer, after: datetime) -> ShiftQuerySet:
        return self.filter(engineer=engineer, ends_at__gt=after).order_by("starts_at")


class Shift(models.Model):
    """A scheduled shift materialised from the engine (overrides are applied when read)."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="shifts")
    role = models.CharField(max_length=10, choices=Role.choices)
    engineer = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    objects = ShiftQuerySet.as_manager()

    class Meta:
        ordering = ["rotation", "starts_at", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "role", "engineer", "starts_at"], name="one_shift_per_slot"
            )
        ]
        indexes = [
            models.Index(fields=["rotation", "ends_at", "starts_at"]),
            models.Index(fields=["engineer", "ends_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.engineer} {self.role} {self.starts_at:%Y-%m-%d}"


def schedule_of(rotation: Rotation) -> schedule.RotationPlan | None:
    """The engine's view of a rotation (members keyed by email); None before its first roster."""
    plans, _ = plans_of([rotation])
    return plans[rotation.id]


def plans_of(
    rotations: Sequence[Rotation],
) -> tuple[dict[int, schedule.RotationPlan | None], dict[str, Engineer]]:
    """The engine's view of each rotation, by id, and everyone they name, by email: four
    queries for any number of rotations."""
    ids = [rotation.id for rotation in rotations]
    eras: dict[int, list[RosterEra]] = defaultdict(list)
    for era in RosterEra.objects.filter(rotation_id__in=ids).order_by("rotation_id", "starts_at"):
        eras[era.rotation_id].append(era)
    shadows: dict[int, list[ShadowBooking]] = defaultdict(list)
    for booking in ShadowBooking.objects.filter(rotation_id__in=ids).select_related("engineer"):
        shadows[booking.rotation_id].append(booking)
    # Read as tuples: a rotation can hold hundreds of swaps, and models cost ten times more.
    swaps: dict[int, list[schedule.StintSwap]] = defaultdict(list)
    accepted = Swap.objects.filter(rotation_id__in=ids, status=SwapStatus.ACCEPTED)
    swap_people: set[int] = set()
    for rotation_id, ref, proposer, mine, partner, theirs in accepted.order_by(
        "decided_at", "id"
    ).values_list(
        "rotation_id", "id", "proposer_id", "proposer_stint", "partner_id", "partner_stint"
    ):
        swaps[rotation_id].append(
            schedule.StintSwap(str(proposer), mine, str(partner), theirs, ref)
        )
        swap_people |= {proposer, partner}
    member_ids = {i for found in eras.values() for era in found for i in era.member_ids}
    by_id = {e.id: e for e in Engineer.objects.filter(id__in=member_ids | swap_people)}
    by_id |= {b.engineer.id: b.engineer for found in shadows.values() for b in found}

    plans: dict[int, schedule.RotationPlan | None] = {}
    for rotation_id in ids:
        if not eras[rotation_id]:
            plans[rotation_id] = None
            continue
        plans[rotation_id] = schedule.RotationPlan(
            tuple(
                schedule.Era(
                    era.starts_at, tuple(by_id[i].email for i in era.member_ids), era.calendar
                )
                for era in eras[rotation_id]
            ),
            tuple(schedule.ShadowWeek(b.engineer.email, b.week_of) for b in shadows[rotation_id]),
            tuple(
                dataclasses.replace(
                    swap, member=by_id[int(swap.member)].email, other=by_id[int(swap.other)].email
                )
                for swap in swaps[rotation_id]
            ),
        )
    return plans, {engineer.email: engineer for engineer in by_id.values()}
