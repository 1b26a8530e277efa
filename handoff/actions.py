"""Writing a handoff report: opened for a handoff, submitted by the outgoing primary,
acknowledged by the incoming one. Each write is an action with an audit entry, and the other
person is told by email (``portal.notices``) once it commits.

Submitting and acknowledging are conditional updates, so two browsers acting at once make one
acknowledgement, and a report acknowledged in between is not rewritten underneath it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from handoff import days
from handoff.models import WORRIES_LIMIT, HandoffReport
from handoff.release import name_of
from handoff.report import report_contents
from portal.models import Actor, AuditEntry, user_or_none
from portal.notices import tell
from rotation.effective import effective_schedule
from rotation.models import Rotation, schedule_of
from rotation.schedule import Duty
from rotation.swaps import engineer_of, is_manager

# "Just before the handoff": the outgoing primary is whoever holds the last instant of the week.
INSTANT = timedelta(microseconds=1)


class ReportError(Exception):
    """A write the report's state no longer allows; the message says why, for the person."""


def report_url(report: HandoffReport) -> str:
    return report_url_of(report.rotation, report)


def report_url_of(rotation: Rotation, report: HandoffReport) -> str:
    """The report's page, named by its handoff's date in the rotation's zone."""
    day = report.handoff_at.astimezone(rotation.zone).date()
    return reverse("handoff:report", args=[rotation.slug, day.isoformat()])


def open_report(rotation: Rotation, handoff_at: datetime) -> HandoffReport | None:
    """The report for the handoff at ``handoff_at``, made if missing (by the job or a page,
    maybe both at once: the unique constraint keeps one). None when no week ends there or no
    one holds primary on one side of it."""
    found = HandoffReport.objects.filter(rotation=rotation, handoff_at=handoff_at).first()
    if found is not None:
        return found
    plan = schedule_of(rotation)
    bounds = days.week_at(plan, handoff_at - INSTANT) if plan is not None else None
    if bounds is None or bounds[1] != handoff_at:
        return None
    week_start = bounds[0]
    effective = effective_schedule(rotation, week_start, handoff_at + INSTANT)
    before = effective.holder(Duty.PRIMARY, handoff_at - INSTANT)
    after = effective.holder(Duty.PRIMARY, handoff_at)
    outgoing = effective.person(before.member) if before else None
    incoming = effective.person(after.member) if after else None
    if outgoing is None or incoming is None:
        return None
    try:
        with transaction.atomic():
            report = HandoffReport.objects.create(
                rotation=rotation,
                week_start=week_start,
                handoff_at=handoff_at,
                outgoing=outgoing,
                incoming=incoming,
            )
            AuditEntry.record(
                "handoff.opened",
                rotation.slug,
                by=None,
                report=report.pk,
                handoff_at=handoff_at.isoformat(),
                outgoing=outgoing.email,
                incoming=incoming.email,
            )
    except IntegrityError:
        # Opened by someone else between our look and our insert.
        return HandoffReport.objects.get(rotation=rotation, handoff_at=handoff_at)
    return report


def _record(action: str, report: HandoffReport, *, by: Actor) -> None:
    AuditEntry.record(
        action,
        report.rotation.slug,
        by=by,
        report=report.pk,
        handoff_at=report.handoff_at.isoformat(),
    )


def _refusal(report: HandoffReport) -> ReportError:
    """Why a conditional update found nothing to change, read from the report as it is now."""
    now_is = HandoffReport.objects.select_related("acknowledged_by").get(pk=report.pk)
    if now_is.acknowledged_at is not None:
        return ReportError(
            f"{name_of(now_is.acknowledged_by) or 'someone'} already acknowledged this report at "
            f"{timezone.localtime(now_is.acknowledged_at):%a %d %b %H:%M %Z}."
        )
    return ReportError("This report has not been submitted yet, so it cannot be acknowledged.")


@transaction.atomic
def submit_report(
    report: HandoffReport, worries: str, *, by: Actor, now: datetime | None = None
) -> HandoffReport:
    """The outgoing primary (or a manager) hands the report over: its sections are frozen as
    they stand now, with the worries. It may be submitted again, with new worries and sections
    read afresh, until the incoming primary acknowledges it."""
    now = now or timezone.now()
    me = engineer_of(by)
    if not (is_manager(by) or (me is not None and me.pk == report.outgoing_id)):
        raise PermissionDenied("only the outgoing primary (or a manager) can submit this report")
    if len(worries) > WORRIES_LIMIT:
        raise ValidationError(f"Keep it under {WORRIES_LIMIT} characters.")
    rotation = report.rotation
    contents = report_contents(rotation, report.week_start, report.handoff_at, now)
    first = report.submitted_at is None
    written = HandoffReport.objects.filter(pk=report.pk, acknowledged_at__isnull=True).update(
        worries=worries, contents=contents, submitted_at=now, submitted_by=user_or_none(by)
    )
    if not written:
        raise _refusal(report)
    report.refresh_from_db()
    _record("handoff.submitted" if first else "handoff.resubmitted", report, by=by)
    tell(
        f"handoff-submitted:{report.pk}:{now.isoformat()}",
        report.incoming.email,
        f"{rotation.name} handoff report {'ready' if first else 'updated'}",
        f"{report.outgoing.name} has {'submitted' if first else 'updated'} the handoff report "
        f"for {rotation.name}. Read it and acknowledge it: {report_url(report)}\n",
    )
    return report


@transaction.atomic
def acknowledge_report(
    report: HandoffReport, *, by: Actor, now: datetime | None = None
) -> HandoffReport:
    """The incoming primary (or a manager) confirms having read a submitted report; once."""
    now = now or timezone.now()
    me = engineer_of(by)
    if not (is_manager(by) or (me is not None and me.pk == report.incoming_id)):
        raise PermissionDenied(
            "only the incoming primary (or a manager) can acknowledge this report"
        )
    written = HandoffReport.objects.filter(
        pk=report.pk, submitted_at__isnull=False, acknowledged_at__isnull=True
    ).update(acknowledged_at=now, acknowledged_by=user_or_none(by))
    if not written:
        raise _refusal(report)
    report.refresh_from_db()
    rotation = report.rotation
    _record("handoff.acknowledged", report, by=by)
    tell(
        f"handoff-acknowledged:{report.pk}",
        report.outgoing.email,
        f"{rotation.name} handoff report acknowledged",
        f"{name_of(user_or_none(by)) or 'someone'} acknowledged your handoff report for {rotation.name}: "
        f"{report_url(report)}\n",
    )
    return report
