"""Keep each rotation's ``@<slug>-oncall`` user group equal to its effective primary and
secondary now: a handoff, a cover or a swap shows in Slack within one run of the job.

A run compares the Slack ids wanted with the ones it last pushed (``SlackUserGroup``) and
calls Slack only when they differ; an engineer with no Slack match is left out, never guessed.
Two workers never push at once: a run holds its rotation's group row locked (select_for_update)
from the comparison to the saved result, so the second one finds the work done.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from portal.models import AuditEntry
from rotation.models import Engineer, Rotation
from rotation.oncall import on_call
from slack_app import api
from slack_app.client import SlackError
from slack_app.models import SlackUserGroup
from slack_app.people import slack_id_of


def handle_of(rotation: Rotation) -> str:
    return f"{rotation.slug}-oncall"


def on_call_now(rotation: Rotation, now: datetime) -> list[Engineer]:
    """The effective primary and secondary (covers and swaps included), once each."""
    answer = on_call([rotation], now)[0]
    people = [p for p in (answer.primary, answer.secondary) if p is not None]
    return list({p.pk: p for p in people}.values())


def _group_row(rotation: Rotation) -> SlackUserGroup:
    try:
        with transaction.atomic():
            return SlackUserGroup.objects.get_or_create(rotation=rotation)[0]
    except IntegrityError:  # another worker made it between our get and create
        return SlackUserGroup.objects.get(rotation=rotation)


def sync_group(rotation: Rotation, now: datetime) -> str:
    """Set the rotation's group to the matched people on call now, if that changed; what it
    did, in a few words. A Slack error is kept on the row and the next run tries again."""
    row = _group_row(rotation)
    try:
        # Matched first, outside the lock: a lookup's answer is kept even if the push fails.
        people = on_call_now(rotation, now)
        wanted = sorted({sid for p in people if (sid := slack_id_of(p, now)) is not None})
        with transaction.atomic():
            group = SlackUserGroup.objects.select_for_update().get(pk=row.pk)
            if group.group_id and wanted == group.users_pushed:
                SlackUserGroup.objects.filter(pk=group.pk).update(checked_at=now, last_error="")
                return "unchanged"
            if not wanted:
                # Slack refuses an empty group; the group keeps whom it had, and the row says why.
                raise SlackError("nobody on call now has a Slack match")
            handle = handle_of(rotation)
            if not group.group_id:
                group.group_id = api.find_group(handle) or api.create_group(
                    f"{rotation.name} on call", handle, f"Primary and secondary of {rotation.name}"
                )
            # Saved with the row, once Slack took the change; a worker dying in between loses
            # both, and the next run, finding the old set stored, pushes again: no harm done.
            AuditEntry.record("slack_app.group_set", handle, by=None, users=wanted)
            api.set_group_users(group.group_id, wanted)
            group.users_pushed, group.pushed_at, group.checked_at = wanted, now, now
            group.last_error = ""
            group.save()
            return f"set to {len(wanted)}"
    except SlackError as error:
        SlackUserGroup.objects.filter(pk=row.pk).update(checked_at=now, last_error=str(error)[:300])
        return f"failed: {error}"
