"""Email notices, sent exactly once: written to an outbox by actions, sent by a job.

An action calls ``tell`` inside its transaction; the row is committed with the change it tells
of (or not at all), and the sender is queued on commit. ``send_pending`` claims each notice
with a conditional update before sending, so the job running twice, or on two workers at
once, sends every notice once. A claim older than ``CLAIM_TIMEOUT`` (a worker died while
sending) is taken again: at-least-once beats never.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from portal.models import Notice, ReminderChoices

CLAIM_TIMEOUT = timedelta(minutes=10)


def tell(key: str, to: str, subject: str, body: str) -> bool:
    """Queue one email (once per ``key``); True when this call wrote it."""
    return write(Notice.Channel.EMAIL, key, to, subject, body)


# The task that sends each channel's notices, queued once per transaction that writes one.
SENDERS = {
    Notice.Channel.EMAIL: "portal.notices.send_pending",
    Notice.Channel.SLACK: "slack_app.jobs.send_posts",
}


def write(channel: Notice.Channel, key: str, to: str, subject: str, body: str) -> bool:
    """Write one notice of ``channel`` (once per ``key``), its sender queued on commit."""
    _, created = Notice.objects.get_or_create(
        key=key[:200],
        defaults={"channel": channel, "to": to, "subject": subject[:200], "body": body},
    )
    if created and not _sender_queued(SENDERS[channel]):
        transaction.on_commit(_Sender(SENDERS[channel]), robust=True)
    return created


def wants(email: str, choice: str) -> bool:
    """Whether the person with ``email`` wants the reminders or notices named by ``choice`` (a
    ReminderChoices field); someone who never chose, or is no engineer, gets them all."""
    return not ReminderChoices.objects.filter(engineer__email=email, **{choice: False}).exists()


def tell_if_wanted(choice: str, key: str, to: str, subject: str, body: str) -> bool:
    """``tell``, unless the person switched off ``choice`` on /me/."""
    return wants(to, choice) and tell(key, to, subject, body)


class _Sender:
    """Queues the task ``func`` on commit; compared by ``func``, so a transaction queues each
    sender once."""

    def __init__(self, func: str) -> None:
        self.func = func

    def __call__(self) -> None:
        async_task(self.func)


def _sender_queued(func: str) -> bool:
    """Whether this transaction will already queue ``func`` on commit: one task sends every
    notice, so a roster edit that tells a hundred people queues one, not a hundred."""
    connection = transaction.get_connection()
    return connection.in_atomic_block and any(
        isinstance(callback, _Sender) and callback.func == func
        for _, callback, _ in connection.run_on_commit
    )


def claimed(channel: str, *, now: datetime) -> Iterator[Notice]:
    """Each unsent notice of ``channel`` that this caller won with a conditional update: of two
    workers running at once, exactly one gets each row."""
    claimable = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
    unsent = Notice.objects.filter(claimable, channel=channel, sent_at__isnull=True)
    for notice_id in list(unsent.values_list("id", flat=True)):
        if unsent.filter(pk=notice_id).update(claimed_at=now):
            yield Notice.objects.get(pk=notice_id)
        # else another worker has it


def deliver_claimed(channel: str, send: Callable[[Notice], None], *, now: datetime) -> str:
    """Send each notice of ``channel`` this caller claims; a failure is kept on the row, whose
    claim is let go so the next run tries again."""
    sent = failed = 0
    for notice in claimed(channel, now=now):
        try:
            send(notice)
        except Exception as error:  # kept on the row; the next run tries again
            Notice.objects.filter(pk=notice.pk).update(claimed_at=None, error=str(error)[:300])
            failed += 1
            continue
        Notice.objects.filter(pk=notice.pk).update(sent_at=timezone.now(), error="")
        sent += 1
    return f"{sent} sent, {failed} failed"


def _email(notice: Notice) -> None:
    send_mail(notice.subject, notice.body, None, [notice.to])


def send_pending(*, now: datetime | None = None) -> str:
    """Send every email notice not sent yet that no live worker has claimed."""
    return "notices: " + deliver_claimed(Notice.Channel.EMAIL, _email, now=now or timezone.now())
