"""Timeline entries, runbook revisions and audit entries are append-only in the database too
(portal/appendonly.py): whatever goes around the models' save and delete is refused, on SQLite
and on PostgreSQL, while adding records, deleting a user and flushing the database still work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.executor import MigrationExecutor

from incidents.models import Incident, TimelineEntry
from portal.models import AuditEntry
from runbooks.models import Revision, Runbook

WHEN = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)

# Each table's model, the text column an edit would change, and the user reference.
TABLES: dict[str, tuple[type[models.Model], str, str]] = {
    "incidents_timelineentry": (TimelineEntry, "text", "by"),
    "runbooks_revision": (Revision, "message", "author"),
    "portal_auditentry": (AuditEntry, "subject", "actor"),
}


def make_records(user: User, name: str = "checkout") -> dict[str, models.Model]:
    incident = Incident.objects.create(title=f"{name} down", severity="SEV1", started_at=WHEN)
    runbook = Runbook.objects.create(slug=name, title=name, updated_at=WHEN, review_due_at=WHEN)
    return {
        "incidents_timelineentry": TimelineEntry.objects.create(
            incident=incident, at=WHEN, by=user, kind="note", text="Paged the team."
        ),
        "runbooks_revision": Revision.objects.create(
            runbook=runbook, number=1, title=name, author=user, at=WHEN, message="First."
        ),
        "portal_auditentry": AuditEntry.record("incident.open", f"{name} down", by=user),
    }


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", "alice@example.com", "a-long-test-password")


@pytest.fixture
def records(db: None, alice: User) -> dict[str, models.Model]:
    return make_records(alice)


@contextmanager
def refused(table: str) -> Iterator[None]:
    # A savepoint: on PostgreSQL a failed statement spoils the rest of its transaction.
    with pytest.raises(IntegrityError, match=f"append-only: {table}"), transaction.atomic():
        yield


@pytest.mark.parametrize("table", TABLES)
def test_queryset_update_is_refused(records: dict[str, models.Model], table: str) -> None:
    model, column, _ = TABLES[table]
    rows = model._default_manager.filter(pk=records[table].pk)
    with refused(table):
        rows.update(**{column: "Rewritten."})
    assert getattr(rows.get(), column) != "Rewritten."


@pytest.mark.parametrize("table", TABLES)
def test_queryset_delete_is_refused(records: dict[str, models.Model], table: str) -> None:
    model, _, _ = TABLES[table]
    rows = model._default_manager.filter(pk=records[table].pk)
    with refused(table):
        rows.delete()
    assert rows.exists()


@pytest.mark.parametrize("table", TABLES)
def test_raw_update_is_refused(records: dict[str, models.Model], table: str) -> None:
    _, column, _ = TABLES[table]
    with connection.cursor() as cursor, refused(table):
        cursor.execute(f"UPDATE {table} SET {column} = 'Rewritten.'")


@pytest.mark.parametrize("table", TABLES)
def test_raw_delete_is_refused(records: dict[str, models.Model], table: str) -> None:
    with connection.cursor() as cursor, refused(table):
        cursor.execute(f"DELETE FROM {table}")
    assert TABLES[table][0]._default_manager.count() == 1


@pytest.mark.parametrize("table", TABLES)
def test_the_user_reference_may_only_be_cleared(
    records: dict[str, models.Model], table: str
) -> None:
    model, column, user = TABLES[table]
    rows = model._default_manager.filter(pk=records[table].pk)
    bob = User.objects.create_user("bob", "bob@example.com", "a-long-test-password")
    with refused(table):
        rows.update(**{user: bob})
    # Clearing it together with another change is still a rewrite.
    with refused(table):
        rows.update(**{user: None, column: "Rewritten."})
    rows.update(**{user: None})
    assert getattr(rows.get(), f"{user}_id") is None


def test_deleting_a_user_keeps_their_records(records: dict[str, models.Model], alice: User) -> None:
    alice.delete()

    for table, (model, _, user) in TABLES.items():
        rows = model._default_manager.filter(pk=records[table].pk)
        assert getattr(rows.get(), f"{user}_id") is None
        # ... and they are as append-only as before.
        with refused(table):
            rows.delete()


def test_adding_records_still_works_but_not_changing_them(
    records: dict[str, models.Model], alice: User
) -> None:
    added = make_records(alice, "search")

    for table, (model, column, _) in TABLES.items():
        assert model._default_manager.count() == 2
        rows = model._default_manager.filter(pk=added[table].pk)
        with refused(table):
            rows.update(**{column: "Rewritten."})


def test_deleting_an_incident_or_runbook_with_history_is_refused(
    records: dict[str, models.Model],
) -> None:
    # The cascade would delete the history with them.
    with refused("incidents_timelineentry"):
        Incident.objects.all().delete()
    with refused("runbooks_revision"):
        Runbook.objects.all().delete()
    assert Incident.objects.exists() and Runbook.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_the_tables_and_keeps_them_guarded(alice: User) -> None:
    make_records(alice)

    call_command("flush", interactive=False, verbosity=0)

    for model, _, _ in TABLES.values():
        assert not model._default_manager.exists()
    again = make_records(User.objects.create_user("bob", "bob@example.com", "x" * 20))
    for table, (model, _, _) in TABLES.items():
        with refused(table):
            model._default_manager.filter(pk=again[table].pk).delete()


def _append_only_triggers() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'portal_append_only'")
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE 'portal_append_only%'"
            )
        (count,) = cursor.fetchone()
    return int(count)


@pytest.mark.django_db(transaction=True)
def test_the_migration_is_reversible() -> None:
    installed = _append_only_triggers()
    executor = MigrationExecutor(connection)
    executor.migrate([("portal", "0005_topic_stamps")])
    try:
        assert _append_only_triggers() == 0
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert (
        installed
        == _append_only_triggers()
        == len(TABLES) * (1 if connection.vendor == "postgresql" else 2)
    )
