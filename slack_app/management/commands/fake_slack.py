"""``manage.py fake_slack [--port 8026]``: the local Slack stand-in, for the demo; or, with
``--command`` or ``--click``, play Slack's part once towards a running portal.

Serving, it is Slack's Web API at ``http://127.0.0.1:<port>/api/`` (set ``SLACK_API_URL``),
and an incoming webhook at ``/services/T0/B0/fake``. Its users are the portal's active
engineers, with their emails, except ``--leave-out`` (by default the last by email), so the
demo shows someone unmatched. Every message posted, group set and response is printed.

Playing Slack: ``--command "platform" --as alice@example.com`` sends a signed ``/oncall
platform`` to ``--portal``; ``--click swap_accept:12 --as bob@example.com`` clicks a button.
Both sign with ``SLACK_SIGNING_SECRET`` and print the portal's answer.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rotation.models import Engineer
from slack_app.fake_api import FakeSlackApi, click_body, command_body, signed, user_id_for


class Command(BaseCommand):
    help = "Serves a local stand-in for Slack's Web API and webhook, or acts as Slack once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8026)
        parser.add_argument("--token", default="xoxb-fake-demo", help="the bot token it takes")
        parser.add_argument("--channel", default="C0ONCALL", help="the channel it has")
        parser.add_argument("--leave-out", default="", help="an engineer's email Slack lacks")
        parser.add_argument("--command", help="send /oncall with this text to the portal")
        parser.add_argument("--click", help="click ACTION:ID (e.g. swap_accept:3)")
        parser.add_argument("--as", dest="email", default="alice@example.com")
        parser.add_argument("--portal", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] is not None or options["click"]:
            self.act_as_slack(options)
            return
        fake = FakeSlackApi(token=options["token"], channels=(options["channel"],))
        engineers = list(Engineer.objects.filter(is_active=True).order_by("email"))
        left_out = options["leave_out"] or (engineers[-1].email if engineers else "")
        for engineer in engineers:
            if engineer.email != left_out:
                fake.add_user(engineer.name, engineer.email)
        with fake.serve(options["port"]) as url:
            self.stdout.write(f"SLACK_API_URL={url}")
            self.stdout.write(f"SLACK_WEBHOOK_URL={fake.base}/services/T0/B0/fake")
            self.stdout.write(f"Slack users: {len(fake.users)}; not in Slack: {left_out or '-'}")
            self.watch(fake)

    def watch(self, fake: FakeSlackApi) -> None:
        shown = {"messages": 0, "responses": 0, "webhook": 0, "calls": 0}
        try:
            while True:
                time.sleep(0.5)
                for name, items in [
                    ("messages", fake.messages),
                    ("responses", fake.responses),
                    ("webhook", fake.webhook.received),
                    ("calls", [{"method": m, **a} for m, a in fake.calls if m.startswith("usergroups.")]),
                ]:  # fmt: skip
                    for item in items[shown[name] :]:
                        self.stdout.write(f"{name}: {json.dumps(item, default=str)}")
                    shown[name] = len(items)
        except KeyboardInterrupt:
            return

    def act_as_slack(self, options: dict[str, Any]) -> None:
        secret = settings.SLACK_SIGNING_SECRET
        if not secret:
            raise CommandError("SLACK_SIGNING_SECRET is not set")
        user = user_id_for(options["email"])
        response_url = settings.SLACK_API_URL.rstrip("/").removesuffix("/api") + "/response/1"
        if options["click"]:
            action, _, value = options["click"].partition(":")
            body, path = click_body(user, action, value, response_url=response_url), "interactions"
        else:
            body, path = command_body(user, options["command"]), "commands"
        headers = {**signed(secret, body), "Content-Type": "application/x-www-form-urlencoded"}
        answer = httpx.post(
            f"{options['portal'].rstrip('/')}/slack/{path}", content=body, headers=headers
        )
        self.stdout.write(f"{answer.status_code} {answer.text}")
