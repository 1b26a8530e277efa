"""The incident rules, in plain Python: severities, which incidents owe a post-mortem, when it
is due, how often customers hear from us, and which times contradict each other."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

SEVERITIES = {
    "SEV1": "Critical: the service is down or losing data for many customers.",
    "SEV2": "Major: a core feature is broken or badly degraded for many customers.",
    "SEV3": "Minor: a feature is degraded for some customers; a workaround exists.",
    "SEV4": "Low: no customer impact yet; cosmetic, or a risk to fix soon.",
}
STATUSES = ("investigating", "identified", "monitoring", "resolved")
# How long customers wait for the next update, by severity (a status page's usual promise).
UPDATE_EVERY = {
    "SEV1": timedelta(minutes=30),
    "SEV2": timedelta(hours=1),
    "SEV3": timedelta(hours=2),
    "SEV4": timedelta(hours=4),
}
POSTMORTEM_DUE_BUSINESS_DAYS = 5
# The order the times of an incident must keep, each with the one it may not precede.
TIME_ORDER = (
    ("detected_at", "started_at", "detected before it started"),
    ("acknowledged_at", "detected_at", "acknowledged before it was detected"),
    ("mitigated_at", "started_at", "mitigated before it started"),
    ("resolved_at", "started_at", "resolved before it started"),
    ("resolved_at", "mitigated_at", "resolved before it was mitigated"),
)


def postmortem_owed(
    severity: str, customer_impact: bool, severities: Sequence[str], for_customer_impact: bool
) -> bool:
    """The rule (a setting): owed for the listed severities, and for customer impact."""
    return severity in severities or (for_customer_impact and customer_impact)


def business_days_after(day: date, days: int) -> date:
    """``days`` working days after ``day``, Saturdays and Sundays skipped."""
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def time_problems(times: dict[str, datetime | None]) -> dict[str, str]:
    """Field errors for times that contradict each other, e.g. resolved before started."""
    problems: dict[str, str] = {}
    for later, earlier, what in TIME_ORDER:
        if times.get(later) and times.get(earlier) and times[later] < times[earlier]:  # type: ignore[operator]
            problems.setdefault(later, f"This time is wrong: the incident would be {what}.")
    return problems


def update_template(
    status: str, title: str, services: str, next_update: datetime | None, zone_label: str
) -> str:
    """A customer update to edit: what is affected, what we are doing, when we speak next."""
    affected = services or "some of our services"
    doing = {
        "investigating": f"We are investigating reports of problems with {affected}.",
        "identified": f"We have identified the cause of the problems with {affected} and are "
        "working on a fix.",
        "monitoring": f"A fix for the problems with {affected} is in place and we are "
        "watching the results.",
        "resolved": f"The problems with {affected} are resolved. We are sorry for the trouble.",
    }[status]
    lines = [f"{title}", "", doing]
    if status != "resolved" and next_update is not None:
        lines += ["", f"Next update by {next_update:%H:%M} {zone_label}."]
    return "\n".join(lines)


def heads_up_problems(
    kind: str, starts_at: datetime | None, ends_at: datetime | None, rollback: str
) -> dict[str, str]:
    """Field errors for a heads-up: it must end after it starts, and a change needs a way back."""
    problems: dict[str, str] = {}
    if starts_at and ends_at and ends_at <= starts_at:
        problems["ends_at"] = "It must end after it starts."
    if kind == "change" and not rollback.strip():
        problems["rollback"] = "A change needs a way to roll it back."
    return problems


def heads_up_notice(
    kind_label: str, title: str, services: str, starts_at: datetime, ends_at: datetime
) -> str:
    """A customer notice to edit for planned work, in the customer updates' words and shape:
    what is affected, what we are doing, and when (times as given, with their zone)."""
    affected = services or "some of our services"
    when = f"{starts_at:%a %-d %b %H:%M} to {ends_at:%a %-d %b %H:%M} {ends_at.tzname() or ''}"
    return "\n".join(
        [
            f"{kind_label}: {title}",
            "",
            f"From {when.strip()}, {affected} may be briefly unavailable or slower than usual "
            "while we carry out planned work.",
            "",
            "We will post an update here when it is done. We are sorry for the trouble.",
        ]
    )
