"""A manager's roster edit from the portal's roster page: the order, joiners and leavers.

``proposal`` turns the page's list of emails (and a new engineer not yet saved) into what
``plan_roster`` takes: members in order, and shadow weeks with one booked for each joiner.
``save_roster_edit`` saves exactly that, under the rotation's lock, refusing a page opened
on an older roster (``roster_version``): the same code computes the preview and the save.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import User
from django.db import transaction
from django.template.loader import render_to_string

from portal.models import Actor, AuditEntry
from portal.notices import tell
from rotation import schedule
from rotation.actions import (
    RosterError,
    RosterPlan,
    deactivate_engineer,
    lock_rotation,
    save_roster,
)
from rotation.models import Engineer, OnboardingStep, Rotation
from rotation.roster_preview import first_free_week


def refuse(code: str, message: str) -> RosterError:
    return RosterError([schedule.Problem(code, message)])


@dataclass(frozen=True)
class NewEngineer:
    """Someone to add who is not an engineer yet; created when the roster is saved."""

    name: str
    email: str
    time_zone: str = ""
    create_login: bool = False

    def unsaved(self) -> Engineer:
        return Engineer(name=self.name, email=self.email.strip().lower(), time_zone=self.time_zone)


@dataclass
class Proposal:
    """A proposed roster: ``members`` in order, every shadow week, and each joiner's week."""

    members: list[Engineer]
    shadows: list[tuple[Engineer, date]]
    joiners: dict[str, date | None] = field(default_factory=dict)


def roster_version(rotation: Rotation) -> str:
    """What the page was opened on: the order, the eras and the shadow weeks. Any save in
    between changes it, and the page's save is then refused rather than undo that save."""
    rows = list(rotation.memberships.order_by("position").values_list("engineer_id", flat=True))
    eras = list(rotation.eras.order_by("starts_at").values_list("id", "member_ids"))
    shadows = sorted(rotation.shadows.values_list("engineer_id", "week_of"))
    return hashlib.sha256(repr((rows, eras, shadows)).encode()).hexdigest()[:20]


def proposal(
    rotation: Rotation,
    emails: Sequence[str],
    newcomer: NewEngineer | None,
    *,
    now: datetime,
) -> Proposal:
    """The members named by ``emails`` (the newcomer among them, unsaved), with the stored
    shadow weeks and one more for each joiner: the first week from the next handoff that they
    have no time off. RosterError when an email is nobody or someone inactive."""
    wanted = [email.strip().lower() for email in emails]
    found = {e.email: e for e in Engineer.objects.filter(email__in=wanted)}
    if newcomer is not None and newcomer.email.strip().lower() in wanted:
        found.setdefault(newcomer.email.strip().lower(), newcomer.unsaved())
    members = []
    for email in wanted:
        engineer = found.get(email)
        if engineer is None:
            raise refuse("unknown", f"{email} is not an engineer of the portal")
        if not engineer.is_active:
            raise refuse("inactive", f"{engineer.name} is no longer active")
        members.append(engineer)
    current = set(rotation.memberships.values_list("engineer__email", flat=True))
    booked = list(rotation.shadows.select_related("engineer"))
    shadows = [(booking.engineer, booking.week_of) for booking in booked]
    has_booking = {booking.engineer.email for booking in booked}
    joiners: dict[str, date | None] = {}
    for member in members:
        if member.email in current or member.email in has_booking:
            continue
        week = first_free_week(rotation, member, now=now)
        joiners[member.email] = week
        if week is not None:
            shadows.append((member, week))
    return Proposal(members, shadows, joiners)


@transaction.atomic
def save_roster_edit(
    rotation: Rotation,
    emails: Sequence[str],
    newcomer: NewEngineer | None,
    *,
    version: str,
    by: Actor,
    now: datetime,
    site: tuple[str, bool] = ("localhost", False),
    deactivate: Sequence[str] = (),
) -> RosterPlan:
    """Save the order the page previewed: create the newcomer (and their login, emailing a
    link to set a password), book joiners' shadow weeks, start their onboarding checklists.

    Refused, writing nothing, when someone saved the roster since the page was opened, or
    when the result would break a rule. Leavers named in ``deactivate`` are made inactive too
    (refused, with the rest, while another roster or a future override still names them)."""
    lock_rotation(rotation)
    if version != roster_version(rotation):
        raise refuse(
            "stale",
            "Someone saved this roster since you opened the page, so yours was not saved (it "
            "would have undone their change). The page now shows the roster as it is: make "
            "your change again and preview it.",
        )
    wanted = [email.strip().lower() for email in emails]
    if newcomer is not None and newcomer.email.strip().lower() in wanted:
        _create_engineer(newcomer, by=by, site=site)
    found = proposal(rotation, wanted, None, now=now)
    plan = save_roster(rotation, found.members, found.shadows, by=by, now=now)
    for leaver in Engineer.objects.filter(email__in=set(deactivate) - set(wanted)):
        deactivate_engineer(leaver, by=by, now=now)
    for member in found.members:
        if member.email in found.joiners:
            OnboardingStep.objects.bulk_create(
                (
                    OnboardingStep(rotation=rotation, engineer=member, step=step)
                    for step in OnboardingStep.Step.values
                ),
                ignore_conflicts=True,
            )
    return plan


def _create_engineer(newcomer: NewEngineer, *, by: Actor, site: tuple[str, bool]) -> Engineer:
    email = newcomer.email.strip().lower()
    if Engineer.objects.filter(email=email).exists():
        raise refuse("exists", f"{email} is already an engineer: add them from the list instead")
    user = None
    if newcomer.create_login:
        if User.objects.filter(username__iexact=email).exists():
            raise refuse("exists", f"a login named {email} already exists")
        user = User.objects.create_user(email, email, None, first_name=newcomer.name[:150])
    engineer = Engineer.objects.create(
        user=user, name=newcomer.name, email=email, time_zone=newcomer.time_zone
    )
    AuditEntry.record("engineer.created", email, by=by, login=user is not None)
    if user is not None:
        domain, https = site
        LoginLinkForm({"email": email}, user=user).send_link(domain, https)
    return engineer


class LoginLinkForm(PasswordResetForm):
    """Django's password reset, for a login that has no password yet: the link to set one
    goes through the portal's outbox (``portal.notices``), so it is sent once, on commit."""

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def get_users(self, email: str) -> list[User]:
        return [self.user]

    def send_link(self, domain: str, https: bool) -> None:
        assert self.is_valid(), self.errors
        self.save(
            domain_override=domain,
            use_https=https,
            subject_template_name="rotation/login_link_subject.txt",
            email_template_name="rotation/login_link_email.txt",
        )

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        tell(f"login-created:{self.user.pk}", to_email, subject, body)
