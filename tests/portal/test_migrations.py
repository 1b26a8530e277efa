"""Moving the feed and PagerDuty models out of rotation keeps their tables and every row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time

import pytest
from django.apps.registry import Apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from feeds.models import FeedFetch, FeedToken, Publication, PublishedShift
from pagerduty.models import SyncClaim, SyncRun, WebcalImport
from rotation.models import Engineer, Rotation

# main before the move: rotation's last migration then, and no feeds or pagerduty app.
BEFORE_MOVE = [("rotation", "0004_watch_sync_tables"), ("feeds", None), ("pagerduty", None)]
WHEN = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def latest() -> list[tuple[str, str | None]]:
    return list(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def before_move() -> Iterator[Apps]:
    """The historical models as they were before the move, on a database migrated back to then;
    afterwards the database is at the latest migrations again, whatever the test did."""
    executor = migrate(BEFORE_MOVE)
    try:
        yield executor.loader.project_state([("rotation", "0004_watch_sync_tables")]).apps
    finally:
        migrate(latest())
        ContentType.objects.clear_cache()


def test_moving_the_models_keeps_every_row(before_move: Apps) -> None:
    old = before_move.get_model
    user = old("auth", "User").objects.create(username="alice", email="alice@example.com")
    engineer = old("rotation", "Engineer").objects.create(
        user=user, name="Alice Nguyen", email="alice@example.com"
    )
    rotation = old("rotation", "Rotation").objects.create(
        slug="platform",
        name="Platform",
        handoff_time=time(10, 0),
        starts_on=date(2026, 11, 24),
        pagerduty_feeds={"primary": "https://example.com/feed"},
    )
    token = old("rotation", "FeedToken").objects.create(
        user=user, seed="s" * 64, token_hash="h" * 64, created_at=WHEN
    )
    old("rotation", "FeedFetch").objects.create(
        token=token, feed="platform-primary", fetched_at=WHEN, user_agent="Google-Calendar"
    )
    shift = old("rotation", "PublishedShift").objects.create(
        uid="platform-primary-1@oncall",
        rotation=rotation,
        role="primary",
        engineer=engineer,
        person_name="Alice Nguyen",
        starts_at=WHEN,
        ends_at=datetime(2026, 12, 8, 18, 0, tzinfo=UTC),
        partners=[{"role": "secondary", "name": "Bob", "from": WHEN.isoformat()}],
        fingerprint="f" * 64,
        sequence=3,
        created_at=WHEN,
        modified_at=WHEN,
    )
    old("rotation", "Publication").objects.create(stamp=42, horizon=WHEN, changed_at=WHEN)
    run = old("rotation", "SyncRun").objects.create(
        kind="policy", rotation=rotation, started_at=WHEN, outcome="changed", api_calls=2
    )
    old("rotation", "SyncClaim").objects.create(name="pagerduty-policy:1", held_until=WHEN)
    old("rotation", "WebcalImport").objects.create(
        rotation=rotation, role="primary", url="https://example.com/feed", drift=[{"x": 1}]
    )

    migrate(latest())

    assert Engineer.objects.get(pk=engineer.pk).email == "alice@example.com"
    assert Rotation.objects.get(pk=rotation.pk).slug == "platform"
    moved = FeedToken.objects.get(pk=token.pk)
    assert (moved.user_id, moved.seed, moved.token_hash) == (user.pk, "s" * 64, "h" * 64)
    assert FeedFetch.objects.get().token_id == token.pk
    published = PublishedShift.objects.get(pk=shift.pk)
    assert (published.uid, published.engineer_id, published.sequence) == (
        "platform-primary-1@oncall",
        engineer.pk,
        3,
    )
    assert published.partners[0]["name"] == "Bob"
    # The row is kept; feeds 0002 then clears its stamp so that the next poll publishes again.
    publication = Publication.objects.get()
    assert (publication.horizon, publication.changed_at, publication.stamp) == (WHEN, WHEN, None)
    sync_run = SyncRun.objects.get(pk=run.pk)
    assert (sync_run.rotation_id, sync_run.outcome, sync_run.api_calls) == (
        rotation.pk,
        SyncRun.Outcome.CHANGED,
        2,
    )
    assert SyncClaim.objects.get().name == "pagerduty-policy:1"
    assert WebcalImport.objects.get().drift == [{"x": 1}]
    # The reverse accessors work across the apps, as before.
    assert list(Rotation.objects.get(pk=rotation.pk).webcal_imports.all()) == [
        WebcalImport.objects.get()
    ]


def test_the_moved_models_keep_their_tables() -> None:
    moved = [FeedToken, FeedFetch, PublishedShift, Publication, SyncRun, SyncClaim, WebcalImport]
    tables = {model: model._meta.db_table for model in moved}
    assert tables == {model: f"rotation_{model.__name__.lower()}" for model in tables}
    assert set(tables.values()) <= set(connection.introspection.table_names())


def test_content_types_follow_the_models_there_and_back(before_move: Apps) -> None:
    content_type = before_move.get_model("contenttypes", "ContentType")
    assert content_type.objects.filter(app_label="rotation", model="feedtoken").exists()
    assert not content_type.objects.filter(app_label="feeds").exists()

    migrate(latest())

    ContentType.objects.clear_cache()
    assert not ContentType.objects.filter(app_label="rotation", model="syncrun").exists()
    assert ContentType.objects.get_for_model(SyncRun).app_label == "pagerduty"
    assert ContentType.objects.get_for_model(FeedToken).app_label == "feeds"
