"""``manage.py fake_pagerduty``: the fake PagerDuty served over HTTP for ``make run``.

The demo has no PagerDuty account, so the sync and drift pages talk to this instead: set
``PAGERDUTY_API_URL=http://127.0.0.1:8025`` (and the same ``PAGERDUTY_API_TOKEN``, or none on
both sides: then the token is "fake-token"). ``demo_fake()`` seeds it from the database at start;
the seed lives here, not in ``pagerduty.fake``, so that module stays free of Django.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socketserver
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIServer, make_server

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from pagerduty.fake import FEED_PATH, FakePagerDuty, FeedShift, render_feed
from rotation.effective import effective_schedule
from rotation.models import Engineer, Rotation
from rotation.schedule import Duty

FEED_ROLES = ("primary", "secondary")
FEED_AHEAD = timedelta(days=90)  # REFERENCE 7: PagerDuty's horizon is unknown; 90 days is seen


def demo_feed_path(slug: str, role: str) -> str:
    """The demo feed path of a rotation's role, the same on every run: for the demo, store
    ``http://127.0.0.1:8025`` + this path in the rotation's ``pagerduty_feeds[role]``."""
    key = hashlib.sha256(f"demo-feed:{slug}:{role}".encode()).hexdigest()  # 64 hex, as real
    schedule_id = "P" + base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()[:6]
    return f"/private/{key}/feed/{schedule_id}"


def demo_fake(*, api_url: str = "https://api.pagerduty.com") -> FakePagerDuty:
    """A fake seeded from the database.

    - A user per engineer, in email order: the engineer's ``pagerduty_user_id``, else PUSER01,
      PUSER02... by position.
    - Per rotation with a ``pagerduty_escalation_policy_id``: that policy, named "<Rotation>
      On-Call", with one team and a single rule for the last engineer by email, 30 minutes:
      wrong on purpose, so the first sync has something to fix.
    - Per rotation and role (primary, secondary): a feed at ``demo_feed_path(slug, role)`` and
      at the rotation's ``pagerduty_feeds[role]`` when its path is /private/<key>/feed/<ID>,
      holding the stored shifts from a week ago to 90 days ahead, except that the third
      upcoming one is someone else's (a hand edit in PagerDuty: drift to show).
    - Per rotation with a policy: two services on the policy ("<slug>-api", "<slug>-web", ids
      from ``demo_service_id``) and four incidents on them over the last two days: one
      high-urgency still triggered, one high-urgency acknowledged and resolved (priority P2),
      one low-urgency acknowledged, and one high-urgency acknowledged (P1); each acknowledged
      by whoever held primary then, and the one left triggered escalated after 5 minutes.
    """
    fake = FakePagerDuty(settings.PAGERDUTY_API_TOKEN or "fake-token", api_url=api_url)
    engineers = list(Engineer.objects.order_by("email"))
    user_ids: dict[int, str] = {}
    for n, engineer in enumerate(engineers, 1):
        user_id = engineer.pagerduty_user_id or f"PUSER{n:02d}"
        fake.add_user(engineer.name, engineer.email, user_id, time_zone=engineer.time_zone or "UTC")
        user_ids[engineer.pk] = user_id
    now = timezone.now()
    for rotation in Rotation.objects.all():
        if rotation.pagerduty_escalation_policy_id and engineers:
            fake.add_escalation_policy(
                rotation.pagerduty_escalation_policy_id,
                f"{rotation.name} On-Call",
                [[user_ids[engineers[-1].pk]]],
                teams=[{"id": "PTEAM01", "type": "team_reference"}],
            )
            _add_demo_incidents(fake, rotation, now, user_ids)
        for role in FEED_ROLES:
            shifts = _feed_shifts(rotation, role, now)
            paths = [demo_feed_path(rotation.slug, role)]
            feeds = rotation.pagerduty_feeds if isinstance(rotation.pagerduty_feeds, dict) else {}
            stored = urlsplit(str(feeds.get(role, ""))).path
            if FEED_PATH.match(stored):
                paths.append(stored)
            for path in paths:
                _, _, key, _, schedule_id = path.split("/")
                text = render_feed(schedule_id, f"{rotation.name} {role.title()}", shifts)
                fake.add_schedule_feed(key, schedule_id, text)
    return fake


def demo_service_id(slug: str, name: str) -> str:
    """A stable PagerDuty-style service id for a demo service."""
    return "PS" + base64.b32encode(hashlib.sha256(f"{slug}-{name}".encode()).digest()).decode()[:5]


def _add_demo_incidents(
    fake: FakePagerDuty, rotation: Rotation, now: datetime, user_ids: dict[int, str]
) -> None:
    api, web = (demo_service_id(rotation.slug, name) for name in ("api", "web"))
    fake.services |= {api: f"{rotation.slug}-api", web: f"{rotation.slug}-web"}
    policy = fake.escalation_policies[rotation.pagerduty_escalation_policy_id]
    policy["services"] = [
        {"id": service_id, "type": "service_reference"} for service_id in (api, web)
    ]
    hour = timedelta(hours=1)
    prefix = f"PD{rotation.pk:02d}"
    effective = effective_schedule(rotation, now - 2 * timedelta(days=2), now)

    def primary_at(when: datetime) -> str | None:
        """The PagerDuty user of whoever held primary then: they acknowledged it."""
        stretch = effective.holder(Duty.PRIMARY, when)
        person = effective.person(stretch.member) if stretch else None
        return user_ids.get(person.pk) if person else None

    fake.add_incident(f"{prefix}A", "API 5xx rate above 2%", api, now - 2 * hour)
    fake.add_incident(
        f"{prefix}B", "Checkout latency p99 over 3 s", web, now - 30 * hour, priority="P2",
        acknowledged_at=now - 30 * hour + timedelta(minutes=4), resolved_at=now - 28 * hour,
        acknowledged_by=primary_at(now - 30 * hour),
    )  # fmt: skip
    fake.add_incident(
        f"{prefix}C", "Certificate expires in 14 days", web, now - 20 * hour, urgency="low",
        acknowledged_at=now - 19 * hour, acknowledged_by=primary_at(now - 20 * hour),
    )  # fmt: skip
    fake.add_incident(
        f"{prefix}D", "Payments queue backlog", api, now - 5 * hour, priority="P1",
        acknowledged_at=now - 5 * hour + timedelta(minutes=2),
        acknowledged_by=primary_at(now - 5 * hour),
    )  # fmt: skip


def _feed_shifts(rotation: Rotation, role: str, now: datetime) -> list[FeedShift]:
    effective = effective_schedule(rotation, now - timedelta(days=7), now + FEED_AHEAD)
    people = effective.people
    shifts = [
        FeedShift(s.member, people[s.member].name, s.start, s.end)
        for s in effective.stretches
        if s.role.value == role
    ]
    upcoming = [i for i, shift in enumerate(shifts) if shift.start > now]
    if len(upcoming) > 3:
        edited, other = shifts[upcoming[2]], shifts[upcoming[3]]
        if edited.email != other.email:
            shifts[upcoming[2]] = FeedShift(other.email, other.name, edited.start, edited.end)
    return shifts


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True  # Ctrl-C does not wait for a client that keeps a connection open


class Command(BaseCommand):
    help = "Serve a fake PagerDuty (REST v2 and schedule feeds) seeded from the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument(
            "--delay",
            type=float,
            default=float(os.environ.get("FAKE_PAGERDUTY_DELAY") or 0),
            help="seconds each write waits before it is applied, so a worker can be killed"
            " mid-sync (default: FAKE_PAGERDUTY_DELAY, else 0)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        base = f"http://{host}:{port}"
        fake = demo_fake(api_url=base)
        fake.write_delay = options["delay"]
        self.stdout.write(
            f"Fake PagerDuty on {base}: {len(fake.users)} users, "
            f"{len(fake.escalation_policies)} escalation policies "
            f"({', '.join(fake.escalation_policies) or 'none'}), "
            f"{len(fake.schedule_feeds)} schedule feeds, {len(fake.incidents)} incidents."
        )
        if not settings.PAGERDUTY_API_TOKEN:
            self.stdout.write('  PAGERDUTY_API_TOKEN is empty: the fake accepts "fake-token".')
        if fake.write_delay:
            self.stdout.write(f"  Each write waits {fake.write_delay:g} s before it is applied.")
        server = make_server(host, port, fake.wsgi_app, server_class=_ThreadingServer)
        with server, contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
