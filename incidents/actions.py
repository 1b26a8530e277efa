"""Every write to incidents: each runs in a transaction and tells the timeline what it did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents import rules
from incidents.models import (
    SECTION_MAX_LENGTH,
    SECTIONS,
    TIME_FIELDS,
    ActionItem,
    CustomerUpdate,
    Incident,
    Postmortem,
    PostmortemStatus,
    Status,
    TimelineEntry,
    time_mark,
)
from portal.models import AuditEntry
from rotation.models import Engineer, Rotation
from rotation.oncall import on_call
from runbooks import markdown


def note(incident: Incident, kind: str, text: str, *, by: User | None, at: datetime) -> None:
    TimelineEntry.objects.create(incident=incident, kind=kind, text=text, by=by, at=at)


def _person(engineer: Engineer | None) -> dict[str, Any] | None:
    return {"id": engineer.pk, "name": engineer.name, "email": engineer.email} if engineer else None


@transaction.atomic
def open_incident(
    fields: dict[str, Any], *, by: User | None, now: datetime | None = None
) -> Incident:
    """Open an incident from a valid form's fields; record who is on call now, and who was
    primary when it started (the post-mortem's owner by default). ``by`` is None when a job
    opens it (the PagerDuty import)."""
    now = now or timezone.now()
    fields = dict(fields)
    runbooks = list(fields.pop("runbooks", None) or [])
    incident = Incident(**fields, opened_by=by)
    rotation: Rotation | None = incident.rotation or Rotation.objects.first()
    incident.rotation = rotation
    if rotation is not None:
        (now_on_call,) = on_call([rotation], now)
        incident.on_call_at_open = {
            "primary": _person(now_on_call.primary),
            "secondary": _person(now_on_call.secondary),
            "shadows": [_person(e) for e in now_on_call.shadows],
        }
        (at_start,) = on_call([rotation], incident.started_at)
        incident.primary_at_start = at_start.primary
        incident.shift_started_at = at_start.shift_start
        incident.commander = incident.commander or now_on_call.primary
    if incident.status != Status.RESOLVED:
        incident.next_update_due = now + rules.UPDATE_EVERY[incident.severity]
    incident.save()
    commander = incident.commander.name if incident.commander else "nobody yet"
    note(
        incident,
        "opened",
        f"Opened as {incident.severity}, {incident.get_status_display().lower()}; "
        f"commander {commander}.",
        by=by,
        at=now,
    )
    if runbooks:
        incident.runbooks.set(runbooks)
        note(
            incident,
            "runbooks",
            "Runbooks: " + ", ".join(r.title for r in runbooks) + ".",
            by=by,
            at=now,
        )
    AuditEntry.record("incident.opened", str(incident.pk), by=by, severity=incident.severity)
    if incident.status == Status.RESOLVED:
        _owe_postmortem(incident, by=by, now=now)
    return incident


@transaction.atomic
def note_pagerduty_time(incident: Incident, name: str, when: datetime, *, now: datetime) -> None:
    """PagerDuty says the incident was acknowledged or resolved (``name`` is
    ``acknowledged_at`` or ``resolved_at``) at ``when``: the time is kept unless people set
    one, and the timeline says so. The caller calls this once per incident and time (the
    import's link decides, by a conditional update); the status stays the people's to move."""
    if name not in ("acknowledged_at", "resolved_at"):
        raise ValueError(f"not a PagerDuty time: {name}")
    verb = "Acknowledged" if name == "acknowledged_at" else "Resolved"
    if getattr(incident, name) is None:
        setattr(incident, name, when)
        incident.save(update_fields=[name])
    note(incident, "pagerduty", f"{verb} in PagerDuty at {time_mark(when)}.", by=None, at=now)
    AuditEntry.record(f"incident.pagerduty_{name}", str(incident.pk), by=None, at=when.isoformat())


@transaction.atomic
def update_incident(
    incident: Incident, changes: dict[str, Any], *, by: User, now: datetime | None = None
) -> Incident:
    """Apply a valid form's changes; each changed field gets its timeline entry.

    PermissionError, before anything is written, if ``by`` is not a manager and would change
    the commander: the commander may publish the post-mortem, so choosing oneself would be a
    way round who may publish. The opener's choice at opening stands (see open_incident)."""
    now = now or timezone.now()
    changes = dict(changes)
    if (
        "commander" in changes
        and changes["commander"] != incident.commander
        and not (is_manager(by))
    ):
        raise PermissionError(COMMANDER_REFUSED)
    if "runbooks" in changes:
        wanted = list(changes.pop("runbooks") or [])
        if {r.pk for r in wanted} != set(incident.runbooks.values_list("pk", flat=True)):
            incident.runbooks.set(wanted)
            titles = ", ".join(r.title for r in wanted) or "none"
            note(incident, "runbooks", f"Runbooks: {titles}.", by=by, at=now)
    changed = {k: v for k, v in changes.items() if getattr(incident, k) != v}
    if changed.get("status") == Status.RESOLVED and not changes.get("resolved_at"):
        changed["resolved_at"] = incident.resolved_at or now
    for name, value in changed.items():
        old = getattr(incident, name)
        setattr(incident, name, value)
        note(incident, name, _describe(incident, name, old, value), by=by, at=now)
    if not changed:
        return incident
    if incident.status == Status.RESOLVED:
        incident.next_update_due = None
        _owe_postmortem(incident, by=by, now=now)
    elif "severity" in changed and incident.next_update_due:
        incident.next_update_due = min(
            incident.next_update_due, now + rules.UPDATE_EVERY[incident.severity]
        )
    incident.save()
    return incident


def _describe(incident: Incident, name: str, old: Any, new: Any) -> str:
    label = str(getattr(Incident._meta.get_field(name), "verbose_name", name))
    if name in TIME_FIELDS:
        shown = [time_mark(t) if t else "unset" for t in (old, new)]
        return f"{label.capitalize()}: {shown[0]} → {shown[1]}."
    if name == "status":
        return f"Status: {Status(old).label} → {Status(new).label}."
    return f"{label.capitalize()}: {old or 'none'} → {new or 'none'}."


def _owe_postmortem(incident: Incident, *, by: User | None, now: datetime) -> Postmortem | None:
    """Create the post-mortem an incident owes (once), due five business days after it was
    resolved, owned by the primary when it started (else its commander)."""
    owed = rules.postmortem_owed(
        incident.severity,
        incident.customer_impact,
        settings.POSTMORTEM_SEVERITIES,
        settings.POSTMORTEM_FOR_CUSTOMER_IMPACT,
    )
    owner = incident.primary_at_start or incident.commander
    if not owed or owner is None or hasattr(incident, "postmortem"):
        return None
    resolved = (incident.resolved_at or now).astimezone(timezone.get_current_timezone()).date()
    postmortem = Postmortem(
        incident=incident,
        owner=owner,
        due_on=rules.business_days_after(resolved, rules.POSTMORTEM_DUE_BUSINESS_DAYS),
        timeline=timeline_markdown(incident),
    )
    postmortem.sections_html = sections_html(postmortem)
    postmortem.save()
    note(
        incident,
        "postmortem",
        f"Post-mortem owed by {owner.name}, due {postmortem.due_on:%a %-d %b %Y}.",
        by=by,
        at=now,
    )
    return postmortem


def timeline_markdown(incident: Incident) -> str:
    """The timeline as a Markdown list, for the post-mortem: the entries that fit in a section,
    then how many more there are, so that the post-mortem can be saved as it was made."""
    zone = timezone.get_current_timezone()
    lines = [
        f"- {entry.at.astimezone(zone):%Y-%m-%d %H:%M %Z}: {entry.text_in(zone)}"
        for entry in incident.timeline.all()
    ]
    text = "\n".join(lines)
    if len(text) <= SECTION_MAX_LENGTH:
        return text
    more = "- … and {} more on the incident's timeline."
    size = shown = 0
    for line in lines:
        if size + len(line) + 1 + len(more.format(len(lines))) > SECTION_MAX_LENGTH:
            break
        size, shown = size + len(line) + 1, shown + 1
    return "\n".join([*lines[:shown], more.format(len(lines) - shown)])


def sections_html(postmortem: Postmortem) -> dict[str, str]:
    """The sections that have text, rendered and sanitised (runbooks/markdown.py), for the page
    to show as they are: rendering is done on save, never on a view."""
    return {
        name: str(markdown.render(text))
        for name, _ in SECTIONS
        if (text := getattr(postmortem, name))
    }


@transaction.atomic
def add_note(incident: Incident, text: str, *, by: User, now: datetime | None = None) -> None:
    note(incident, "note", text, by=by, at=now or timezone.now())


def draft_update(incident: Incident, *, by: User, now: datetime | None = None) -> CustomerUpdate:
    """A new customer update for the incident's status, from the template, to edit."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    next_at = None
    if incident.status != Status.RESOLVED:
        next_at = (now + rules.UPDATE_EVERY[incident.severity]).astimezone(zone)
    body = rules.update_template(
        incident.status,
        incident.title,
        incident.services,
        next_at,
        (next_at.tzname() or "") if next_at else "",
    )
    return CustomerUpdate.objects.create(
        incident=incident, status=incident.status, body=body, created_by=by
    )


@transaction.atomic
def send_update(
    update: CustomerUpdate, body: str, *, by: User, now: datetime | None = None
) -> CustomerUpdate:
    """Mark the (edited) update as sent; the next one is then due by the severity's interval."""
    now = now or timezone.now()
    update.body, update.sent_at = body, now
    update.save(update_fields=["body", "sent_at"])
    incident = update.incident
    incident.next_update_due = (
        None if incident.status == Status.RESOLVED else now + rules.UPDATE_EVERY[incident.severity]
    )
    incident.save(update_fields=["next_update_due"])
    note(
        incident,
        "update_sent",
        f"Customer update sent ({update.get_status_display()}).",
        by=by,
        at=now,
    )
    return update


COMMANDER_REFUSED = "Only a manager may change the commander of an open incident."
WHO_MAY_PUBLISH = "only the post-mortem's owner, the incident's commander or a manager may"


def is_manager(user: User) -> bool:
    """Managers edit rotations (the Managers group's permission); superusers have every one."""
    return user.has_perm("rotation.change_rotation")


def may_publish(postmortem: Postmortem, user: User) -> bool:
    """Only the owner, the incident's commander or a manager may publish a post-mortem, take
    it back, or revise it once published."""
    if is_manager(user):
        return True
    people = {postmortem.owner.user_id, getattr(postmortem.incident.commander, "user_id", None)}
    return user.pk in people


class PostmortemPermissionError(PermissionError):
    """A refused post-mortem save, naming the form field it is about (None: the whole form)."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


@transaction.atomic
def save_postmortem(
    postmortem: Postmortem,
    sections: dict[str, str],
    status: str,
    *,
    by: User,
    now: datetime | None = None,
) -> Postmortem:
    """Save the sections and move the status.

    Publishing, un-publishing and revising a published post-mortem are for ``may_publish``'s
    people only; anyone else gets PostmortemPermissionError before anything is written. A
    revision after publication is never silent: the timeline names who changed which sections
    (and the audit log keeps them)."""
    now = now or timezone.now()
    was_published = postmortem.status == PostmortemStatus.PUBLISHED
    changed = [
        heading
        for name, heading in SECTIONS
        if name in sections and sections[name] != getattr(postmortem, name)
    ]
    allowed = may_publish(postmortem, by)
    if status == PostmortemStatus.PUBLISHED and not was_published and not allowed:
        raise PostmortemPermissionError(
            f"You cannot publish this post-mortem: {WHO_MAY_PUBLISH} publish", "status"
        )
    if was_published and status != PostmortemStatus.PUBLISHED and not allowed:
        raise PostmortemPermissionError(
            f"You cannot un-publish this post-mortem: {WHO_MAY_PUBLISH} un-publish", "status"
        )
    if was_published and changed and not allowed:
        raise PostmortemPermissionError(
            f"You cannot revise this published post-mortem: {WHO_MAY_PUBLISH} revise it", None
        )
    if status == PostmortemStatus.PUBLISHED and not was_published:
        postmortem.published_at = now
    for name, _ in SECTIONS:
        setattr(postmortem, name, sections.get(name, getattr(postmortem, name)))
    # ValidationError for a section longer than one holds (the form says so first).
    postmortem.clean_fields(exclude={f.name for f in Postmortem._meta.get_fields()} - set(sections))
    postmortem.sections_html = sections_html(postmortem)
    if was_published and changed:
        note(
            postmortem.incident,
            "postmortem",
            f"Post-mortem revised after publication by {_display_name(by)}: {', '.join(changed)}.",
            by=by,
            at=now,
        )
        AuditEntry.record(
            "postmortem.revised", str(postmortem.incident_id), by=by, sections=changed
        )
    if status != postmortem.status:
        note(
            postmortem.incident,
            "postmortem",
            f"Post-mortem {PostmortemStatus(status).label.lower()}.",
            by=by,
            at=now,
        )
        if PostmortemStatus.PUBLISHED in (status, postmortem.status):
            AuditEntry.record(
                "postmortem.published"
                if status == PostmortemStatus.PUBLISHED
                else "postmortem.unpublished",
                str(postmortem.incident_id),
                by=by,
            )
    postmortem.status = status
    postmortem.save()
    return postmortem


def _display_name(user: User) -> str:
    """The engineer's name when the user is one, else the login: timeline text is read later."""
    engineer = Engineer.objects.filter(user=user).first()
    return engineer.name if engineer else user.get_username()


@transaction.atomic
def add_action_item(postmortem: Postmortem, fields: dict[str, Any], *, by: User) -> ActionItem:
    item = ActionItem.objects.create(postmortem=postmortem, **fields)
    note(
        postmortem.incident,
        "action",
        f"Action item for {item.owner.name}: {item.title}",
        by=by,
        at=timezone.now(),
    )
    return item


@transaction.atomic
def set_action_done(item: ActionItem, done: bool, *, by: User, now: datetime | None = None) -> None:
    item.done_at = (now or timezone.now()) if done else None
    item.save(update_fields=["done_at"])
    state = "done" if done else "reopened"
    note(
        item.postmortem.incident,
        "action",
        f"Action item {state}: {item.title}",
        by=by,
        at=timezone.now(),
    )
