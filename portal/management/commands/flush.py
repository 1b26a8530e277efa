"""Django's ``flush``, able to empty the append-only tables on SQLite (portal/appendonly.py).

SQLite has no TRUNCATE: Django flushes it with DELETE FROM, which the append-only triggers refuse.
This drops those triggers, flushes and creates them again, all in one transaction, so no other
connection ever sees the tables unguarded and a failed flush leaves them guarded. PostgreSQL
flushes with TRUNCATE, which the row-level triggers do not see, and needs none of this. Replacing
the command (rather than adding a differently named one) keeps ``manage.py flush`` and the test
runner's flush between transactional tests working.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction

from portal.appendonly import lift_for_flush


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                triggers = lift_for_flush(connection, cursor)
            super().handle(**options)
            with connection.cursor() as cursor:
                for sql in triggers:
                    cursor.execute(sql)
