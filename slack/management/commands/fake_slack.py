"""``manage.py fake_slack [--port 8026]``: the Slack webhook stand-in, for the demo.

Set ``SLACK_WEBHOOK_URL`` to the URL it prints; each post it accepts is printed as JSON.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from slack.fake import FakeSlack


class Command(BaseCommand):
    help = "Serves a local stand-in for a Slack incoming webhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8026)

    def handle(self, *args: Any, **options: Any) -> None:
        fake = FakeSlack()
        with fake.serve(options["port"]) as url:
            self.stdout.write(f"SLACK_WEBHOOK_URL={url}")
            shown = 0
            try:
                while True:
                    time.sleep(0.5)
                    for payload in fake.received[shown:]:
                        self.stdout.write(json.dumps(payload))
                    shown = len(fake.received)
            except KeyboardInterrupt:
                return
