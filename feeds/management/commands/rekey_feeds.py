"""``manage.py rekey_feeds --confirm``: make every feed URL anew with this process's secret key.

For a database whose feed tokens another secret key made, when that key cannot be brought back
(portal/keycheck.py refuses to start otherwise). Without ``--confirm`` it says what would
happen and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from feeds.actions import rekey_feed_tokens
from feeds.models import FeedToken
from portal.keyring import secret_key_fingerprint
from portal.models import SecretKeyFingerprint


class Command(BaseCommand):
    help = "Derive every feed token again with this SECRET_KEY: every feed URL changes."
    # The start-up check refuses a foreign key; this command is how one is accepted knowingly.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--confirm", action="store_true", help="do it: every subscriber loses their feeds"
        )

    def handle(self, *args: Any, confirm: bool, **options: Any) -> None:
        mine = secret_key_fingerprint(settings.SECRET_KEY)
        if not confirm:
            made_with = SecretKeyFingerprint.objects.values_list("fingerprint", flat=True).first()
            self.stdout.write(
                f"The feed tokens were made with the secret key {made_with or '(not recorded)'}; "
                f"this process has {mine}.\nRe-keying changes every calendar feed URL: each of "
                f"the {FeedToken.objects.count()} people with feed addresses must subscribe "
                "again from /calendars/. If the key that made them can be found, start the "
                "portal with it instead, and nothing changes."
            )
            raise CommandError("nothing changed: run `manage.py rekey_feeds --confirm` to re-key")
        count = rekey_feed_tokens(by=None)
        self.stdout.write(
            f"Re-keyed the feed tokens of {count} people with the secret key {mine}: every "
            "feed URL changed, and each of them must subscribe again from /calendars/."
        )
