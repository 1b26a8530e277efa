"""Backups: ``manage.py export`` writes the whole portal as a versioned archive, and ``manage.py
import`` restores it into an empty, migrated database (either engine) as it was: the same rows,
feed URLs that still serve the same calendars, passwords that still sign in, and ids that new rows
never collide with. An import that cannot be right (a non-empty database, another secret key, an
unknown format or a newer schema, a damaged archive) says why and writes nothing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext

from feeds.models import FeedToken
from handoff.actions import acknowledge_report, open_report, submit_report
from handoff.models import Holiday, WeekSetup
from handoff.release import this_week, tick_step
from handoff.triage import tick_triage
from incidents import actions as incident_actions
from incidents.heads_up import post_heads_up
from incidents.models import Incident, Postmortem, TimelineEntry
from pagerduty.models import AcknowledgeTarget, IncidentLink
from portal import backup
from portal.actions import (
    REMINDER_CHOICES,
    choose_reminders,
    ensure_managers_group,
    rotate_api_token,
)
from portal.keycheck import foreign_key_problem
from portal.keyring import secret_key_fingerprint
from portal.models import AuditEntry, SecretKeyFingerprint
from rotation.actions import create_override, materialise_shifts
from rotation.models import CoverRequest, Engineer, OnboardingStep, Override, Rotation, TimeOff
from rotation.oncall import on_call
from rotation.swaps import make_swap
from runbooks import search
from runbooks.actions import save_page
from runbooks.models import Runbook
from tests.conftest import NOW, login, restore_stamps
from tests.feeds.test_feeds import events, fetch, token_of

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
OTHER_KEY = "another-secret-key-that-made-nothing-here"


# The portal to back up: every kept model holds rows -------------------------------------------


@pytest.fixture
def portal(client: Client, platform: Rotation, cast: dict[str, Engineer]) -> dict[str, Any]:
    """Alice's team after a week of use: an override, a runbook saved twice, an incident resolved
    with its post-mortem, an action item and a customer update, a heads-up, calendar feeds
    subscribed to, an API token, a direct permission and an admin log entry."""
    alice, carol = cast["alice"].user, cast["carol"].user
    assert alice is not None and carol is not None
    alice.user_permissions.add(Permission.objects.get(codename="view_shift"))
    rotate_api_token(alice, by=alice)
    create_override(
        platform,
        role="primary",
        engineer=cast["dave"],
        starts_at=NOW + timedelta(hours=1),
        ends_at=NOW + timedelta(hours=3),
        reason="Alice at the dentist",
        by=carol,
    )
    # Dave and Alice swap stints; Erin covers Bob's first primary morning; Bob has time off
    # and a checklist.
    calendar = platform.calendar
    make_swap(
        platform,
        cast["dave"],
        calendar.handoff_at(date(2026, 12, 15)),
        cast["alice"],
        calendar.handoff_at(date(2026, 12, 22)),
        by=carol,
    )
    cover = Override.objects.create(
        rotation=platform,
        role="secondary",
        engineer=cast["erin"],
        covers=cast["bob"],
        starts_at=calendar.handoff_at(date(2026, 12, 8)),
        ends_at=calendar.handoff_at(date(2026, 12, 8)) + timedelta(hours=4),
    )
    CoverRequest.objects.create(
        rotation=platform,
        kind="ask",
        role="secondary",
        covered=cast["bob"],
        taker=cast["erin"],
        starts_at=cover.starts_at,
        ends_at=cover.ends_at,
        status="accepted",
        override=cover,
    )
    TimeOff.objects.create(
        engineer=cast["bob"], starts_on=date(2027, 1, 4), ends_on=date(2027, 1, 8), note="Ski"
    )
    OnboardingStep.objects.create(rotation=platform, engineer=cast["bob"], step="read_guide")
    choose_reminders(cast["bob"].pk, dict.fromkeys(REMINDER_CHOICES, False), by=None)
    materialise_shifts(platform)
    runbook = save_page(
        None,
        {
            "title": "Database failover",
            "body": "# Failover\n\nPromote the **replica**.",
            "tags": "db",
        },
        base_revision=0,
        by=alice,
        now=NOW,
    )
    runbook = save_page(
        runbook,
        {"title": "Database failover", "body": "# Failover\n\nPromote the *replica*, then page."},
        base_revision=1,
        message="Say who to page",
        by=carol,
        now=NOW + timedelta(minutes=5),
    )
    incident = incident_actions.open_incident(
        {
            "title": "Checkout returns 500s",
            "severity": "SEV2",
            "status": "investigating",
            "services": "checkout",
            "started_at": NOW - timedelta(minutes=20),
            "runbooks": [runbook],
        },
        by=alice,
        now=NOW,
    )
    incident_actions.add_note(incident, "Rolled back the release.", by=alice, now=NOW)
    update = incident_actions.draft_update(incident, by=alice, now=NOW)
    incident_actions.send_update(update, "We are rolling back.", by=alice, now=NOW)
    incident_actions.update_incident(incident, {"status": "resolved"}, by=carol, now=NOW)
    postmortem = Postmortem.objects.get(incident=incident)
    incident_actions.save_postmortem(
        postmortem, {"summary": "A bad release."}, "published", by=carol, now=NOW
    )
    incident_actions.add_action_item(
        postmortem,
        {"title": "Canary releases", "owner": cast["erin"], "due_on": date(2026, 12, 16)},
        by=carol,
    )
    post_heads_up(
        {
            "title": "Postgres upgrade",
            "kind": "change",
            "starts_at": NOW + timedelta(days=1),
            "ends_at": NOW + timedelta(days=1, hours=1),
            "owner": cast["erin"],
            "rollback": "Fail back to the old primary.",
            "customer_facing": True,
        },
        by=alice,
    )
    # The PagerDuty incident behind it, as the incident import links it.
    IncidentLink.objects.create(
        pagerduty_id="PINC001",
        incident=incident,
        rotation=platform,
        html_url="https://demo.pagerduty.com/incidents/PINC001",
        urgency="high",
        status="resolved",
        created_at=NOW - timedelta(hours=2),
        acknowledged_at=NOW - timedelta(hours=1),
        escalated_at=NOW - timedelta(hours=2) + timedelta(minutes=5),
        acknowledged_by_pd_user="PALICE1",
    )
    # A manager's on-call target for the rotation (the escalation page).
    AcknowledgeTarget.objects.create(rotation=platform, minutes=10)
    # The week's record: the setup and holidays are admin edits; ticks go through actions.
    WeekSetup.objects.create(rotation=platform, release_runbook=runbook)
    Holiday.objects.create(rotation=platform, day=date(2026, 12, 25), name="Christmas Day")
    week = this_week(platform, NOW)
    assert week is not None
    tick_step(platform, week, 1, done=True, by=alice, now=NOW)
    tick_triage(platform, NOW.date(), "Quiet.", by=alice, now=NOW)
    # The report of last week's handoff (Dave to Alice), written and read.
    report = open_report(platform, calendar.handoff_at(date(2026, 12, 1)))
    assert report is not None
    submit_report(report, "Disk on db-2.", by=carol, now=NOW)
    acknowledge_report(report, by=carol, now=NOW)
    LogEntry.objects.log_actions(carol.pk, [platform], CHANGE, "Changed name.", single_object=True)
    erin_token = token_of(cast["erin"])
    status, body, _ = fetch(client, erin_token, "platform.all")
    assert status == 200
    return {"incident": incident, "runbook": runbook, "erin_token": erin_token, "feed": body}


def empty_migrated_database() -> None:
    """What ``migrate`` leaves in a new database: content types, permissions, the Managers group
    and the topic stamps, and nothing else. Their ids are made to differ from the exported
    database's, as another database's may."""
    if connection.vendor == "postgresql":
        # The test's transaction holds deferred foreign-key checks, which TRUNCATE refuses to
        # leave pending: run them now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    first = ContentType.objects.create(app_label="aaa", model="made_first")
    Permission.objects.create(codename="made_first", name="Made first", content_type=first)
    emit_post_migrate_signal(0, False, connection.alias)
    restore_stamps()
    ensure_managers_group()
    search.rebuild()  # SQLite's search table is no model's: flush left the old pages in it


@pytest.fixture(autouse=True)
def forget_content_type_ids() -> Iterator[None]:
    # ContentType.objects remembers ids per process; the tests above give them new ones.
    yield
    ContentType.objects.clear_cache()


def export(path: Path) -> str:
    out = io.StringIO()
    call_command("export", str(path), stdout=out)
    return out.getvalue()


def import_(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import", str(path), *args, stdout=out)
    return out.getvalue()


def rows_of(path: Path) -> dict[str, list[dict[str, Any]]]:
    with backup.Archive(path) as archive:
        return {label: [row for _, row in archive.rows(label)] for label in backup.KEPT}


def kept_rows_in_database() -> dict[str, int]:
    return {label: apps.get_model(label)._base_manager.count() for label in backup.KEPT}


# What is kept ----------------------------------------------------------------------------------


def test_every_model_is_exported_or_left_out_with_a_reason() -> None:
    labels = {model._meta.label_lower for model in apps.get_models()}
    decided = {
        label
        for label in labels
        if label in backup.KEPT
        or label in backup.LEFT_OUT
        or label.split(".")[0] in backup.LEFT_OUT
    }
    assert labels - decided == set(), "add these to KEPT or LEFT_OUT in portal/backup.py"
    assert set(backup.KEPT).isdisjoint(backup.LEFT_OUT)
    assert all(backup.LEFT_OUT.values())


def test_each_kept_model_comes_after_the_rows_it_refers_to() -> None:
    made_by_migrate = {model._meta.label_lower for model in backup.NAMED}
    for position, label in enumerate(backup.KEPT):
        model = apps.get_model(label)
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is not None:
                target = field.related_model._meta.label_lower
                assert target in made_by_migrate or backup.KEPT.index(target) < position, (
                    f"{label}.{field.name} refers to {target}, restored after it"
                )


# The round trip ------------------------------------------------------------------------------


def test_a_restored_portal_holds_the_same_rows_model_by_model(
    portal: dict[str, Any], tmp_path: Path
) -> None:
    first = tmp_path / "first.tar.gz"
    export(first)
    before = rows_of(first)
    assert all(before[label] for label in backup.KEPT), "the portal fixture leaves a model empty"

    empty_migrated_database()
    output = import_(first)
    second = tmp_path / "second.tar.gz"
    export(second)
    after = rows_of(second)

    assert f"Imported {sum(map(len, before.values()))} rows" in output
    for label in backup.KEPT:
        if label == "portal.auditentry":
            *restored, restore = after[label]
            assert restored == before[label]
            assert restore["action"] == "portal.restored"
            assert restore["subject"] == "first.tar.gz"
        else:
            assert after[label] == before[label], label


def test_a_restore_keeps_revisions_timelines_stored_html_and_search(
    portal: dict[str, Any], tmp_path: Path
) -> None:
    incident, runbook = portal["incident"], portal["runbook"]
    timeline = list(incident.timeline.values_list("at", "kind", "text", "by"))
    revisions = list(runbook.revisions.values_list("number", "body", "author", "message"))
    export(tmp_path / "portal.tar.gz")
    empty_migrated_database()
    assert search.search("replica") == []

    import_(tmp_path / "portal.tar.gz")

    restored = Runbook.objects.get(slug=runbook.slug)
    assert restored.html == runbook.html and restored.toc == runbook.toc
    assert list(restored.revisions.values_list("number", "body", "author", "message")) == revisions
    restored_incident = Incident.objects.get(pk=incident.pk)
    assert list(restored_incident.timeline.values_list("at", "kind", "text", "by")) == timeline
    assert restored_incident.opened_at == incident.opened_at  # auto_now_add kept, not re-stamped
    assert list(restored_incident.runbooks.all()) == [restored]
    assert [hit.slug for hit in search.search("replica")] == [runbook.slug]


def test_after_a_restore_feed_urls_serve_the_same_calendars_and_passwords_still_sign_in(
    client: Client, portal: dict[str, Any], tmp_path: Path
) -> None:
    before = events(portal["feed"])
    export(tmp_path / "portal.tar.gz")
    empty_migrated_database()
    import_(tmp_path / "portal.tar.gz")

    status, body, _ = fetch(client, portal["erin_token"], "platform.all")
    assert status == 200
    after = events(body)
    assert [(e["UID"], e["SEQUENCE"], e.start, e.end, e["SUMMARY"]) for e in after] == [
        (e["UID"], e["SEQUENCE"], e.start, e.end, e["SUMMARY"]) for e in before
    ]
    assert login(client, "carol").get("/rotations/platform/").status_code == 200
    assert not Client().login(
        request=HttpRequest(), username="carol@example.com", password="not-the-password"
    )


def test_after_a_restore_new_rows_get_ids_of_their_own(
    portal: dict[str, Any], cast: dict[str, Engineer], platform: Rotation, tmp_path: Path
) -> None:
    export(tmp_path / "portal.tar.gz")
    highest = {
        model: max(model.objects.values_list("pk", flat=True))
        for model in (Incident, TimelineEntry, AuditEntry, Runbook, Override)
    }
    empty_migrated_database()
    import_(tmp_path / "portal.tar.gz")
    alice = User.objects.get(username="alice@example.com")

    incident = incident_actions.open_incident(
        {"title": "Search is slow", "severity": "SEV3", "started_at": NOW}, by=alice, now=NOW
    )
    page = save_page(None, {"title": "Search", "body": "Reindex."}, base_revision=0, by=alice)
    override = create_override(
        platform,
        role="secondary",
        engineer=cast["dave"],
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=1, hours=2),
        by=alice,
    )
    incident.runbooks.add(page)
    made = {
        Incident: incident.pk,
        TimelineEntry: incident.timeline.last().pk,  # type: ignore[union-attr]
        AuditEntry: AuditEntry.objects.order_by("-pk").first().pk,  # type: ignore[union-attr]
        Runbook: page.pk,
        Override: override.pk,
    }
    assert all(made[model] > highest[model] for model in highest)


def test_cached_answers_from_the_empty_database_are_not_reused_after_a_restore(
    portal: dict[str, Any], platform: Rotation, tmp_path: Path
) -> None:
    export(tmp_path / "portal.tar.gz")
    empty_migrated_database()
    assert on_call(list(Rotation.objects.all()), NOW) == []

    import_(tmp_path / "portal.tar.gz")

    (answer,) = on_call(list(Rotation.objects.all()), NOW)
    assert (answer.primary.name, answer.secondary.name) == ("Alice", "Erin")  # type: ignore[union-attr]


# The secret key ------------------------------------------------------------------------------


def test_import_under_another_secret_key_is_refused_naming_the_key_to_bring(
    portal: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    export(tmp_path / "portal.tar.gz")
    original = secret_key_fingerprint(settings.SECRET_KEY)
    empty_migrated_database()
    settings.SECRET_KEY = OTHER_KEY

    with pytest.raises(CommandError) as refusal:
        import_(tmp_path / "portal.tar.gz")

    assert str(refusal.value) == (
        f"This archive's feed tokens were made with the secret key {original}; start with that "
        "SECRET_KEY, or pass --new-key to accept that every feed URL changes."
    )
    assert sum(kept_rows_in_database().values()) == 1  # the Managers group migrate makes


def test_with_new_key_every_feed_url_changes_and_the_new_ones_work(
    client: Client, portal: dict[str, Any], cast: dict[str, Engineer], tmp_path: Path, settings: Any
) -> None:
    export(tmp_path / "portal.tar.gz")
    empty_migrated_database()
    settings.SECRET_KEY = OTHER_KEY

    output = import_(tmp_path / "portal.tar.gz", "--new-key")

    assert "Feed URLs are new" in output
    assert fetch(client, portal["erin_token"], "platform.all")[0] == 404
    new_token = FeedToken.objects.get(user__username="erin@example.com").token
    assert new_token != portal["erin_token"]
    assert fetch(client, new_token, "platform.all")[0] == 200
    assert AuditEntry.objects.get(action="portal.restored").details["new_key"] is True
    assert SecretKeyFingerprint.objects.get().fingerprint == secret_key_fingerprint(OTHER_KEY)


def test_an_import_remembers_the_key_its_feed_tokens_were_made_with(
    portal: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    export(tmp_path / "portal.tar.gz")
    empty_migrated_database()
    import_(tmp_path / "portal.tar.gz")
    made_with = secret_key_fingerprint(settings.SECRET_KEY)
    assert SecretKeyFingerprint.objects.get().fingerprint == made_with
    settings.SECRET_KEY = OTHER_KEY
    assert f"made with the secret key {made_with}" in (foreign_key_problem() or "")


def test_export_says_which_secret_key_its_feed_tokens_need(
    portal: dict[str, Any], tmp_path: Path
) -> None:
    output = export(tmp_path / "portal.tar.gz")
    fingerprint = secret_key_fingerprint(settings.SECRET_KEY)
    assert fingerprint in output
    with backup.Archive(tmp_path / "portal.tar.gz") as archive:
        assert archive.manifest["secret_key_fingerprint"] == fingerprint
        assert archive.manifest["format"] == "oncall-portal-export"
        assert archive.manifest["version"] == 1
        latest = MigrationLoader(connection).graph.leaf_nodes("portal")
        assert [("portal", archive.manifest["django_migrations"]["portal"])] == latest
        assert archive.manifest["left_out"]["pagerduty.syncrun"]
    assert (tmp_path / "portal.tar.gz").stat().st_mode & 0o077 == 0  # password hashes inside


# Refusals: a message, and nothing written -----------------------------------------------------


def test_import_into_a_database_with_data_is_refused(
    portal: dict[str, Any], tmp_path: Path
) -> None:
    export(tmp_path / "portal.tar.gz")
    before = kept_rows_in_database()

    with pytest.raises(CommandError, match=r"This database is not empty .*users.*engineers"):
        import_(tmp_path / "portal.tar.gz")

    assert kept_rows_in_database() == before


def rewritten(
    source: Path,
    target: Path,
    manifest: Callable[[dict[str, Any]], None] = lambda _: None,
    data: Callable[[str, bytes], bytes] = lambda _, text: text,
) -> Path:
    """A copy of the archive at ``source`` with its manifest or data files changed."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            text = old.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == backup.MANIFEST:
                found = json.loads(text)
                manifest(found)
                text = json.dumps(found).encode()
            else:
                text = data(member.name, text)
            member.size = len(text)
            new.addfile(member, io.BytesIO(text))
    return target


def version_2(manifest: dict[str, Any]) -> None:
    manifest["version"] = 2


def another_format(manifest: dict[str, Any]) -> None:
    manifest["format"] = "someone-elses-backup"


def newer_schema(manifest: dict[str, Any]) -> None:
    manifest["django_migrations"]["rotation"] = "0099_from_the_future"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            version_2,
            "This archive is format version 2, made by a newer portal; this portal reads "
            "version 1. Import it with the portal version that made it.",
        ),
        (
            another_format,
            "This is not an export of the portal (format 'someone-elses-backup', "
            "expected 'oncall-portal-export').",
        ),
        (
            newer_schema,
            "This archive comes from a newer schema: migration rotation.0099_from_the_future is "
            "unknown to this portal. Upgrade the portal to the version that made the archive, "
            "migrate, then import.",
        ),
    ],
)
def test_an_archive_of_another_format_version_or_newer_schema_is_refused(
    portal: dict[str, Any], tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    export(tmp_path / "portal.tar.gz")
    archive = rewritten(tmp_path / "portal.tar.gz", tmp_path / "changed.tar.gz", manifest=change)
    empty_migrated_database()

    with pytest.raises(CommandError) as refusal:
        import_(archive)

    assert str(refusal.value) == message
    assert sum(kept_rows_in_database().values()) == 1


def test_a_file_that_is_no_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.tar.gz").write_text("not an archive")
    with pytest.raises(CommandError, match=r"notes.tar.gz is not an export of the portal"):
        import_(tmp_path / "notes.tar.gz")
    with pytest.raises(CommandError, match=r"missing.tar.gz does not exist"):
        import_(tmp_path / "missing.tar.gz")


def test_a_bad_row_late_in_the_archive_undoes_the_whole_import(
    portal: dict[str, Any], tmp_path: Path
) -> None:
    export(tmp_path / "portal.tar.gz")

    def bad_due_date(name: str, text: bytes) -> bytes:
        return text.replace(b'"due_on":"2026-12-16"', b'"due_on":"16/12/2026"')

    archive = rewritten(tmp_path / "portal.tar.gz", tmp_path / "bad.tar.gz", data=bad_due_date)
    empty_migrated_database()

    with pytest.raises(CommandError, match=r"incidents.actionitem.jsonl line 1: due_on: .*"):
        import_(archive)

    assert sum(kept_rows_in_database().values()) == 1


def test_a_truncated_data_file_is_refused(portal: dict[str, Any], tmp_path: Path) -> None:
    export(tmp_path / "portal.tar.gz")

    def drop_a_revision(name: str, text: bytes) -> bytes:
        return text.split(b"\n", 1)[1] if name == "data/runbooks.revision.jsonl" else text

    archive = rewritten(tmp_path / "portal.tar.gz", tmp_path / "cut.tar.gz", data=drop_a_revision)
    empty_migrated_database()

    with pytest.raises(CommandError, match=r"runbooks.revision.jsonl holds 1 rows where the"):
        import_(archive)

    assert sum(kept_rows_in_database().values()) == 1


# Cost ------------------------------------------------------------------------------------------


def queries_of(run: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


def test_export_and_import_take_the_same_queries_for_more_rows(
    portal: dict[str, Any], tmp_path: Path
) -> None:
    small = tmp_path / "small.tar.gz"
    exporting_small = queries_of(lambda: export(small))
    incident = portal["incident"]
    alice = User.objects.get(username="alice@example.com")
    for n in range(30):
        incident_actions.add_note(incident, f"Note {n}", by=alice, now=NOW)
    large = tmp_path / "large.tar.gz"
    assert queries_of(lambda: export(large)) == exporting_small

    empty_migrated_database()
    importing_small = queries_of(lambda: import_(small))
    empty_migrated_database()
    assert queries_of(lambda: import_(large)) == importing_small


# A consistent snapshot -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_export_reads_one_snapshot_while_others_write(
    portal: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incident opened (with its timeline entry and audit entry) after the export read the
    incidents and before it read their timelines reaches neither file: a timeline entry without
    its incident would make the archive impossible to restore."""
    dump = backup._dump
    written = threading.Event()

    def open_an_incident() -> None:
        try:
            incident_actions.open_incident(
                {"title": "Pager storm", "severity": "SEV3", "started_at": NOW},
                by=User.objects.get(username="erin@example.com"),
                now=NOW,
            )
            written.set()
        finally:
            connection.close()  # this thread's own connection

    def dump_then_let_another_write(label: str, out: Any, names: Any) -> int:
        count = dump(label, out, names)
        if label == "incidents.incident":
            writer = threading.Thread(target=open_an_incident)
            writer.start()
            writer.join()
        return count

    before = kept_rows_in_database()
    monkeypatch.setattr(backup, "_dump", dump_then_let_another_write)
    export(tmp_path / "portal.tar.gz")

    assert written.is_set()
    rows = rows_of(tmp_path / "portal.tar.gz")
    assert {label: len(found) for label, found in rows.items()} == before
    incidents = {row["id"] for row in rows["incidents.incident"]}
    assert {row["incident"] for row in rows["incidents.timelineentry"]} <= incidents
    assert Incident.objects.count() == len(incidents) + 1


# Across engines --------------------------------------------------------------------------------


def postgresql_server() -> dict[str, Any]:
    """Where to make a scratch PostgreSQL database: the test database's server, else the local
    one (CI's)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        return {
            "host": database["HOST"] or "127.0.0.1",
            "port": database["PORT"] or "5432",
            "user": database["USER"] or "postgres",
            "password": database["PASSWORD"] or "",
        }
    return {"host": "127.0.0.1", "port": "5432", "user": "postgres", "password": ""}


def manage(*args: str, database_url: str, refused: bool = False) -> str:
    """Run ``manage.py`` on another database; its output (stderr too when ``refused``)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == int(refused), (
        f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout + done.stderr


@pytest.fixture
def scratch_postgresql() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards), as a DATABASE_URL."""
    server = postgresql_server()
    name = f"oncall_export_scratch_{os.getpid()}"
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **server)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable: {error}")
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            password = f":{server['password']}" if server["password"] else ""
            yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_archive_moves_between_sqlite_and_postgresql_both_ways(
    portal: dict[str, Any], tmp_path: Path, scratch_postgresql: str
) -> None:
    """This engine's export, restored into a new PostgreSQL database and exported from there,
    then restored into a new SQLite database and exported again: the same rows each time."""
    sqlite = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    first, second, third = (tmp_path / f"{n}.tar.gz" for n in ("first", "second", "third"))
    export(first)

    manage("migrate", "--verbosity=0", database_url=scratch_postgresql)
    manage("import", str(first), database_url=scratch_postgresql)
    manage("export", str(second), database_url=scratch_postgresql)
    refusal = manage("import", str(second), database_url=sqlite, refused=True)
    assert "This database is not migrated (contenttypes.0001_initial and" in refusal
    assert "run `manage.py migrate`, then import." in refusal
    manage("migrate", "--verbosity=0", database_url=sqlite)
    manage("import", str(second), database_url=sqlite)
    manage("export", str(third), database_url=sqlite)

    with backup.Archive(second) as archive:
        assert archive.manifest["engine"] == "postgresql"
    with backup.Archive(third) as archive:
        assert archive.manifest["engine"] == "sqlite"
    before, via_postgresql, via_sqlite = rows_of(first), rows_of(second), rows_of(third)
    for label in backup.KEPT:
        if label == "portal.auditentry":
            assert via_postgresql[label][:-1] == before[label]
            assert via_sqlite[label][:-2] == before[label]
            assert [row["action"] for row in via_sqlite[label][-2:]] == ["portal.restored"] * 2
        else:
            assert via_postgresql[label] == before[label], label
            assert via_sqlite[label] == before[label], label
