"""The weekly livesite summary: one week of a rotation as the team's summary document wants it
(who was on call, incidents with their response times, post-mortems, heads-ups, triage days,
the release and the handoff notes), and its Markdown for pasting into that document.

``WeekSummary`` and ``summary_markdown`` are pure; ``week_summary`` reads the rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from handoff.days import triage_days, triage_due
from handoff.models import HandoffReport, Holiday, TriageDay
from handoff.release import name_of, opened_release_state
from handoff.triage import due_hour
from incidents import metrics
from incidents.models import HeadsUp, Incident, PostmortemStatus
from incidents.templatetags.incident_tags import duration
from pagerduty import escalation, slo
from rotation.effective import EffectiveSchedule, effective_schedule
from rotation.models import Rotation
from rotation.schedule import Duty, RotationPlan
from rotation.stretches import Reason

DAY = "%a %-d %b"
WHEN = "%a %-d %b %H:%M"


@dataclass(frozen=True)
class Holding:
    """Someone holding a role for part or all of the week (clipped to the week)."""

    role: str
    name: str
    start: datetime
    end: datetime
    reason: str = Reason.ROSTERED
    covering: str | None = None


@dataclass(frozen=True)
class IncidentLine:
    title: str
    severity: str
    started_at: datetime
    acknowledge_time: timedelta | None
    resolve_time: timedelta | None
    postmortem: str  # the post-mortem's status label, or "not needed"
    url: str = ""


@dataclass(frozen=True)
class PostmortemLine:
    incident: str
    status: str
    owner: str
    due_on: date
    published_url: str | None = None


@dataclass(frozen=True)
class HeadsUpLine:
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class TriageLine:
    """A business day of the week: triaged by someone, missed, a holiday or still to come."""

    day: date
    done_by: str | None = None
    holiday: str | None = None
    is_to_come: bool = False

    @property
    def state(self) -> str:
        if self.holiday:
            return f"holiday ({self.holiday})"
        if self.done_by:
            return f"done by {self.done_by}"
        return "to come" if self.is_to_come else "missed"


@dataclass(frozen=True)
class PagesLine:
    """The week's PagerDuty pages against the on-call SLO (``pagerduty.slo``)."""

    pages: int
    within_target: int
    target: timedelta
    escalated: int  # went on to the secondary
    out_of_hours: int

    @property
    def sentence(self) -> str:
        if not self.pages:
            return "None."
        within = round(100 * self.within_target / self.pages)
        return (
            f"- {self.pages} page{'s' if self.pages != 1 else ''}: {self.within_target} "
            f"acknowledged within {duration(self.target)} ({within}%), {self.escalated} "
            f"escalated to the secondary, {self.out_of_hours} out of hours"
        )


@dataclass(frozen=True)
class ReleaseLine:
    owner: str
    done: int
    total: int
    done_at: datetime | None  # when the last step was ticked, once all are


@dataclass(frozen=True)
class HandoffLine:
    outgoing: str
    incoming: str
    worries: str
    submitted_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class WeekSummary:
    """One week of one rotation, handoff to handoff; every datetime aware."""

    rotation: str
    slug: str
    zone: str
    week_start: datetime
    week_end: datetime
    is_running: bool = False
    on_call: list[Holding] = field(default_factory=list)
    shadows: list[str] = field(default_factory=list)
    incidents: list[IncidentLine] = field(default_factory=list)
    pages: PagesLine | None = None  # None: the rotation is not linked to PagerDuty
    postmortems: list[PostmortemLine] = field(default_factory=list)
    heads_ups: list[HeadsUpLine] = field(default_factory=list)
    triage: list[TriageLine] = field(default_factory=list)
    release: ReleaseLine | None = None
    handoff: HandoffLine | None = None

    @property
    def name(self) -> str:
        """The week's name: the date of the handoff that starts it, in the rotation's zone."""
        return f"{self.week_start.astimezone(ZoneInfo(self.zone)):%Y-%m-%d}"

    @property
    def filename(self) -> str:
        return f"{self.slug}-livesite-{self.name}.md"


# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that can start
# emphasis, code, links, HTML, entities, headings or strike-through, or end a table cell.
INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&!{}])")
# At the start of a line these would begin a list, a quote or a heading underline.
LINE_START_SPECIAL = re.compile(r"^([-+=>])")
ORDERED_LIST_START = re.compile(r"^(\d+)([.)])")


def escape(text: str) -> str:
    """User text safe inside a Markdown line or table cell: specials escaped, one line."""
    one_line = " ".join(text.split())
    escaped = INLINE_SPECIAL.sub(r"\\\1", one_line)
    return ORDERED_LIST_START.sub(r"\1\\\2", LINE_START_SPECIAL.sub(r"\\\1", escaped))


def summary_markdown(summary: WeekSummary) -> str:
    """The week as Markdown for the team's summary document: headings, bullet lists and a table
    of incidents; times in the rotation's zone, which the second line names."""
    zone = ZoneInfo(summary.zone)

    def at(when: datetime) -> str:
        return f"{when.astimezone(zone):{WHEN}}"

    so_far = ", so far" if summary.is_running else ""
    lines = [
        f"# {escape(summary.rotation)} livesite summary: week of {summary.name}",
        "",
        f"{at(summary.week_start)} to {at(summary.week_end)}{so_far}. Times in {summary.zone}.",
        "",
        "## On call",
        "",
    ]
    for h in summary.on_call:
        why = ""
        if h.reason in (Reason.COVER, Reason.SWAP) and h.covering:
            why = f" ({h.reason} for {escape(h.covering)})"
        elif h.reason != Reason.ROSTERED:
            why = f" ({h.reason})"
        lines.append(
            f"- {h.role.capitalize()}: {escape(h.name)}{why}, {at(h.start)} to {at(h.end)}"
        )
    lines.append(f"- Shadow: {', '.join(map(escape, summary.shadows)) or 'nobody'}")
    lines += ["", "## Incidents", ""]
    if summary.incidents:
        lines += [
            "| Title | Severity | Started | TTA | TTR | Post-mortem |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {escape(i.title)} | {i.severity} | {at(i.started_at)} | "
            f"{duration(i.acknowledge_time)} | {duration(i.resolve_time)} | {i.postmortem} |"
            for i in summary.incidents
        ]
    else:
        lines.append("None.")
    lines += ["", "## Pages", ""]
    lines.append(summary.pages.sentence if summary.pages else "Not linked to PagerDuty.")
    lines += ["", "## Post-mortems", ""]
    lines += [
        f"- {escape(p.incident)}: {p.status}, owner {escape(p.owner)}, due {p.due_on:%Y-%m-%d}"
        + (f", [published]({p.published_url})" if p.published_url else "")
        for p in summary.postmortems
    ] or ["None."]
    lines += ["", "## Heads-ups", ""]
    lines += [
        f"- {h.kind}: {escape(h.title)}, {at(h.starts_at)} to {at(h.ends_at)}"
        for h in summary.heads_ups
    ] or ["None."]
    lines += ["", "## Triage", ""]
    lines += [f"- {t.day:{DAY}}: {escape(t.state)}" for t in summary.triage] or [
        "No business days."
    ]
    lines += ["", "## Release", ""]
    lines.append(release_markdown(summary.release, at))
    lines += ["", "## Handoff notes", ""]
    lines += handoff_markdown(summary.handoff, at)
    return "\n".join(lines) + "\n"


def release_markdown(release: ReleaseLine | None, at: Callable[[datetime], str]) -> str:
    if release is None:
        return "No release checklist."
    steps = f"{release.done} of {release.total} steps done"
    done = f", finished {at(release.done_at)}" if release.done_at else ""
    return f"- Shepherded by {escape(release.owner)}: {steps}{done}"


def handoff_markdown(handoff: HandoffLine | None, at: Callable[[datetime], str]) -> list[str]:
    if handoff is None:
        return ["No handoff report yet."]
    submitted = f"submitted {at(handoff.submitted_at)}" if handoff.submitted_at else "not submitted"
    acknowledged = (
        f"acknowledged by {escape(handoff.acknowledged_by or 'someone')} "
        f"{at(handoff.acknowledged_at)}"
        if handoff.acknowledged_at
        else "not acknowledged"
    )
    lines = [
        f"- From {escape(handoff.outgoing)} to {escape(handoff.incoming)}: "
        f"{submitted}, {acknowledged}"
    ]
    worries = [line for line in handoff.worries.splitlines() if line.strip()]
    if worries:
        lines += ["", "Worries:", ""] + [f"> {escape(line)}" for line in worries]
    return lines


def week_summary(
    rotation: Rotation,
    week_start: datetime,
    week_end: datetime,
    now: datetime,
    *,
    plan: RotationPlan | None = None,
) -> WeekSummary:
    """The summary of ``rotation``'s week [week_start, week_end) as it stands at ``now``; a
    caller that has read the rotation's ``plan`` to find the week passes it, saving its reads."""
    zone = rotation.zone
    effective = effective_schedule(rotation, week_start, week_end, plan=plan)

    def name(email: str | None) -> str:
        person = effective.person(email)
        return person.name if person else (email or "")

    on_call = [
        Holding(
            s.role,
            name(s.member),
            max(s.start, week_start),
            min(s.end, week_end),
            s.reason,
            name(s.covering) if s.covering else None,
        )
        for s in sorted(effective.stretches, key=lambda s: (s.role != Duty.PRIMARY, s.start))
        if s.role != Duty.SHADOW and s.overlaps(week_start, week_end)
    ]
    shadows = sorted(
        {
            name(s.member)
            for s in effective.stretches
            if s.role == Duty.SHADOW and s.overlaps(week_start, week_end)
        }
    )
    incidents, postmortems = incidents_of(rotation, week_start, week_end)
    return WeekSummary(
        rotation=rotation.name,
        slug=rotation.slug,
        zone=rotation.time_zone,
        week_start=week_start,
        week_end=week_end,
        is_running=now < week_end,
        on_call=on_call,
        shadows=shadows,
        incidents=incidents,
        pages=pages_of(rotation, effective, week_start, min(week_end, now)),
        postmortems=postmortems,
        heads_ups=heads_ups_during(week_start, week_end),
        triage=triage_of(rotation, week_start, week_end, now, zone),
        release=release_of(rotation, week_start),
        handoff=handoff_of(rotation, week_end),
    )


def incidents_of(
    rotation: Rotation, start: datetime, end: datetime
) -> tuple[list[IncidentLine], list[PostmortemLine]]:
    """One query: the incidents that started in the week, with their post-mortems."""
    rows = Incident.objects.filter(rotation=rotation, started_at__gte=start, started_at__lt=end)
    incidents, postmortems = [], []
    for incident in rows.select_related("postmortem__owner").order_by("started_at", "id"):
        pm = getattr(incident, "postmortem", None)
        facts = metrics.IncidentFacts(
            severity=incident.severity,
            started_at=incident.started_at,
            detected_at=incident.detected_at,
            acknowledged_at=incident.acknowledged_at,
            resolved_at=incident.resolved_at,
            needs_postmortem=pm is not None,
            postmortem_published=pm is not None and pm.status == PostmortemStatus.PUBLISHED,
            shift_start=incident.shift_started_at,
        )
        incidents.append(
            IncidentLine(
                incident.title,
                incident.severity,
                incident.started_at,
                metrics.acknowledge_time(facts),
                metrics.resolve_time(facts),
                pm.get_status_display().lower() if pm else "not needed",
                incident.get_absolute_url(),
            )
        )
        if pm is not None:
            published = pm.status == PostmortemStatus.PUBLISHED
            postmortems.append(
                PostmortemLine(
                    incident.title,
                    pm.get_status_display().lower(),
                    pm.owner.name,
                    pm.due_on,
                    pm.get_absolute_url() if published else None,
                )
            )
    return incidents, postmortems


def pages_of(
    rotation: Rotation, effective: EffectiveSchedule, start: datetime, end: datetime
) -> PagesLine | None:
    """Two queries: the week's PagerDuty pages and the rotation's target; None when the
    rotation is not linked to PagerDuty."""
    if not rotation.pagerduty_escalation_policy_id:
        return None
    target = escalation.target_of(rotation)
    people = effective.people
    primaries = [s for s in effective.stretches if s.role == Duty.PRIMARY]
    zones = {e: ZoneInfo(p.time_zone) for e, p in people.items() if p.time_zone}
    is_late = slo.out_of_hours_rule(primaries, rotation.zone, zones)
    figures = slo.figures_of(escalation.pages_of(rotation, start, end), target, is_late)
    return PagesLine(
        figures.pages, figures.within_target, target, figures.escalated, figures.out_of_hours
    )


def heads_ups_during(start: datetime, end: datetime) -> list[HeadsUpLine]:
    """One query: the heads-ups whose window overlapped the week (they name no rotation)."""
    rows = HeadsUp.objects.filter(starts_at__lt=end, ends_at__gt=start).order_by("starts_at", "id")
    return [HeadsUpLine(h.title, h.get_kind_display(), h.starts_at, h.ends_at) for h in rows]


def triage_of(
    rotation: Rotation, start: datetime, end: datetime, now: datetime, zone: ZoneInfo
) -> list[TriageLine]:
    """Three queries: the week's business days, holidays named (``triage_log`` skips them),
    each done by whom or missed."""
    due_at = due_hour(rotation)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    holidays = {
        h.day: h.name for h in Holiday.objects.filter(rotation=rotation, day__range=(first, last))
    }
    ticks = {
        t.day: t
        for t in TriageDay.objects.filter(rotation=rotation, day__range=(first, last))
        .select_related("done_by__engineer")
        .order_by("day")
    }
    # Every business day, holidays too, so the summary names the holidays.
    business_days = triage_days(start, end, zone, due_at, holidays=())
    return [
        TriageLine(
            day,
            (name_of(ticks[day].done_by) or "someone") if day in ticks else None,
            holidays.get(day),
            is_to_come=triage_due(day, due_at, zone) > now,
        )
        for day in business_days
    ]


def release_of(rotation: Rotation, week_start: datetime) -> ReleaseLine | None:
    """The week's release; None when nobody opened it."""
    state = opened_release_state(rotation, week_start)
    if state is None:
        return None
    done = [s.done_at for s in state.steps if s.done_at is not None]
    finished = max(done) if state.complete else None
    return ReleaseLine(state.owner.name if state.owner else "", state.done, state.total, finished)


def handoff_of(rotation: Rotation, week_end: datetime) -> HandoffLine | None:
    """One query: the report written at the handoff that ended the week."""
    report = (
        HandoffReport.objects.filter(rotation=rotation, handoff_at=week_end)
        .select_related("outgoing", "incoming", "acknowledged_by__engineer")
        .first()
    )
    if report is None:
        return None
    return HandoffLine(
        report.outgoing.name,
        report.incoming.name,
        report.worries,
        report.submitted_at,
        report.acknowledged_at,
        name_of(report.acknowledged_by) or None,
    )
