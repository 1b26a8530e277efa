"""Backups: the whole portal as one versioned archive (``manage.py export``), restored into an
empty, migrated database on either engine (``manage.py import``).

The archive is a gzipped tar:

- ``manifest.json``: the format and its version, when it was made, the schema it was made with
  (the last migration of each app), the fingerprint of the secret key its feed tokens were made
  with, the row count of each model, and what was left out and why.
- ``data/<app>.<model>.jsonl``: one JSON object per row, in primary-key order.

Rows keep their primary keys: roster eras hold engineer ids inside JSON, audit entries and the
admin log name objects by id, and keeping ids is the one way that cannot miss such a reference.
The rows ``migrate`` makes itself (content types, permissions, the Managers group) get other ids
in another database, so references to them are written by natural key instead (``["view_shift",
"rotation", "shift"]``), and groups are merged by name. Values are written as Django's own
serializers write them (``value_to_string``: ISO 8601 instants, to the microsecond), so an
archive reads the same on SQLite and PostgreSQL.

The secret key is not in the archive, but feed URLs are derived from it (feeds/models.py): a
restore under another key would silently turn every calendar subscription into a 404. The
manifest therefore holds the key's fingerprint (portal/keyring.py), and the import refuses a
different key unless told that every feed URL may change.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from feeds.actions import rekey_feed_tokens
from portal.keycheck import record_secret_key
from portal.keyring import secret_key_fingerprint
from portal.models import AuditEntry
from runbooks import search

FORMAT = "oncall-portal-export"
VERSION = 1
MANIFEST = "manifest.json"

# Every model whose rows are the portal's data, in the order they are restored (each after the
# rows it refers to). tests/portal/test_export.py checks that every model is here or in LEFT_OUT.
KEPT: tuple[str, ...] = (
    "auth.group",
    "auth.user",
    "portal.apitoken",
    "portal.auditentry",
    "admin.logentry",
    "rotation.engineer",
    "portal.reminderchoices",
    "rotation.rotation",
    "rotation.membership",
    "rotation.rosterera",
    "rotation.shadowbooking",
    "rotation.override",
    "rotation.swap",
    "rotation.coverrequest",
    "rotation.timeoff",
    "rotation.onboardingstep",
    "rotation.shift",
    "feeds.feedtoken",
    "feeds.feedfetch",
    "feeds.publishedshift",
    "runbooks.runbook",
    "runbooks.revision",
    "incidents.incident",
    "incidents.timelineentry",
    "incidents.customerupdate",
    "incidents.postmortem",
    "incidents.actionitem",
    "incidents.headsup",
    "pagerduty.incidentlink",
    "pagerduty.acknowledgetarget",
    "handoff.weeksetup",
    "handoff.holiday",
    "handoff.handoffreport",
    "handoff.release",
    "handoff.releasestep",
    "handoff.triageday",
)

# What is not copied, and why: a model ("app.model") or a whole app ("app"). Written into the
# manifest, so an archive says what it does not hold.
LEFT_OUT: Mapping[str, str] = {
    "contenttypes.contenttype": "made by migrate; rows name content types by app and model",
    "auth.permission": "made by migrate; users and groups name permissions by codename",
    "portal.topicstamp": "made by migrate; the change-stamp triggers renew it on every write",
    "portal.secretkeyfingerprint": (
        "the manifest's secret_key_fingerprint; an import records the key its feed tokens "
        "are made with"
    ),
    "sessions.session": "sign-ins are not restored: everyone signs in again",
    "feeds.publication": (
        "derived: the first feed request after a restore publishes the calendars again "
        "(the published events themselves are kept, so each keeps its SEQUENCE)"
    ),
    "pagerduty.syncrun": "operational history of the PagerDuty jobs; the next run records anew",
    "pagerduty.syncclaim": "a worker's claim on a job, meaningless in another database",
    "pagerduty.webcalimport": "the last reading of PagerDuty's feeds; the next import reads them",
    "pagerduty.incidentimport": (
        "how far the incident import has read; the next one reads 30 days again and finds "
        "the links kept"
    ),
    "slack_app": (
        "the Slack app's email matches and groups last pushed: its next run looks people up "
        "again and finds each group by handle"
    ),
    "django_q": "the task queue and its results; `manage.py sync_schedules` makes the schedules",
    "axes": "failed sign-in attempts and lockouts",
    "portal.notice": "the email outbox: what was to be sent then is not sent again after a restore",
}

# Models whose rows ``migrate`` makes, so their ids differ between databases: a reference to one
# is written as its natural key.
NAMED = (ContentType, Permission, Group)
# Merged into the rows of the same name, which migrate may already have made (Managers).
MERGED_BY_NAME = "auth.group"

BATCH = 500


class BackupError(Exception):
    """An export or import that cannot go ahead; the message says why and what to do."""


@dataclass
class Summary:
    """What an export wrote or an import restored."""

    path: Path
    manifest: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    # An import under a key other than the archive's: every feed URL changed.
    key_changed: bool = False

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


# Export ----------------------------------------------------------------------------------------


def export_portal(path: Path) -> Summary:
    """Write every kept model to a new archive at ``path`` (replaced whole, or not at all), from
    one consistent snapshot of the database."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="portal-export-") as scratch:
        files: dict[str, Path] = {}
        counts: dict[str, int] = {}
        with consistent_snapshot():
            created_at = timezone.now()
            names = _Names.read()
            for label in KEPT:
                files[label] = Path(scratch) / f"{label}.jsonl"
                with files[label].open("wb") as out:
                    counts[label] = _dump(label, out, names)
            schema = applied_schema()
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "engine": connection.vendor,
            "django_migrations": schema,
            "secret_key_fingerprint": secret_key_fingerprint(settings.SECRET_KEY),
            "counts": counts,
            "left_out": dict(LEFT_OUT),
        }
        _write_archive(path, manifest, files, created_at)
    return Summary(path, manifest, counts)


@contextmanager
def consistent_snapshot() -> Iterator[None]:
    """One read-only transaction whose every query sees the database as of its first one.

    PostgreSQL's default (READ COMMITTED) gives each statement a fresh view: a timeline entry
    committed between reading incidents and reading timelines would reach the archive without its
    incident. REPEATABLE READ keeps the first view. SQLite reads one snapshot per transaction in
    WAL mode, but the portal opens its transactions IMMEDIATE (to queue writers), which would hold
    the write lock for the whole export: a DEFERRED one reads without blocking anyone.
    Called inside a transaction, it reads that transaction's view.
    """
    if connection.in_atomic_block:
        yield
        return
    wrapper = cast(Any, connection)
    wrapper.ensure_connection()
    mode = getattr(wrapper, "transaction_mode", None)
    if connection.vendor == "sqlite":
        wrapper.transaction_mode = "DEFERRED"
    try:
        with transaction.atomic():
            if connection.vendor == "sqlite":
                wrapper.transaction_mode = mode
            elif connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    finally:
        if connection.vendor == "sqlite":
            wrapper.transaction_mode = mode


def applied_schema() -> dict[str, str]:
    """The last applied migration of each app, by name."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    applied = loader.applied_migrations or {}
    latest: dict[str, str] = {}
    for app, name in sorted(loader.graph.leaf_nodes()):
        for node in reversed(loader.graph.forwards_plan((app, name))):
            if node[0] == app and node in applied:
                latest[app] = node[1]
                break
    return latest


def _dump(label: str, out: IO[bytes], names: _Names) -> int:
    """Write ``label``'s rows as JSON lines; one query for the rows and one per many-to-many
    field, whatever the number of rows."""
    model = apps.get_model(label)
    related = {m2m.name: _m2m_values(model, m2m, names) for m2m in model._meta.many_to_many}
    count = 0
    order = "name" if label == MERGED_BY_NAME else "pk"
    for obj in model._base_manager.order_by(order).iterator(chunk_size=2000):
        row = {
            field.name: _value(obj, field, names)
            for field in model._meta.concrete_fields
            if not (label == MERGED_BY_NAME and field.primary_key)
        }
        for name, values in related.items():
            row[name] = values.get(obj.pk, [])
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        count += 1
    return count


def _value(obj: models.Model, field: models.Field[Any, Any], names: _Names) -> Any:
    value = field.value_from_object(obj)
    if value is None or isinstance(field, models.JSONField):
        return value
    if field.is_relation and field.related_model in NAMED:
        return names.key_of(cast(type[models.Model], field.related_model), value)
    if isinstance(value, bool | int | float | str):
        return value
    return field.value_to_string(obj)


def _m2m_values(
    model: type[models.Model], m2m: models.ManyToManyField[Any, Any], names: _Names
) -> dict[Any, list[Any]]:
    """The related rows of every row of ``model`` through ``m2m``, by the row's primary key."""
    through, source, target = _through(m2m)
    related = m2m.related_model
    found: dict[Any, list[Any]] = defaultdict(list)
    for pk, other in through._default_manager.order_by(source, target).values_list(source, target):
        found[pk].append(names.key_of(related, other) if related in NAMED else other)
    # Sorted by value: natural keys in id order would follow the ids of the database at hand.
    return {pk: sorted(values) for pk, values in found.items()}


def _through(m2m: models.ManyToManyField[Any, Any]) -> tuple[type[models.Model], str, str]:
    """The table joining ``m2m``'s rows, and its columns for this side and the other."""
    through = cast(type[models.Model], m2m.remote_field.through)
    source = through._meta.get_field(m2m.m2m_field_name()).attname  # type: ignore[union-attr]
    target = through._meta.get_field(m2m.m2m_reverse_field_name()).attname  # type: ignore[union-attr]
    return through, source, target


def _write_archive(
    path: Path, manifest: dict[str, Any], files: dict[str, Path], created_at: datetime
) -> None:
    """The archive, written beside ``path`` and moved over it only once complete. It holds
    password hashes and feed token seeds, so only its owner may read it."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with tarfile.open(partial, "w:gz") as tar:
            _add(tar, MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n", created_at)
            for label, file in files.items():
                info = _info(f"data/{label}.jsonl", file.stat().st_size, created_at)
                with file.open("rb") as data:
                    tar.addfile(info, data)
        partial.chmod(0o600)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"Could not write {path}: {error.strerror or error}") from error


def _info(name: str, size: int, created_at: datetime) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(created_at.timestamp())
    return info


def _add(tar: tarfile.TarFile, name: str, data: bytes, created_at: datetime) -> None:
    tar.addfile(_info(name, len(data), created_at), io.BytesIO(data))


# Natural keys of the rows migrate makes ------------------------------------------------------


class _Names:
    """Content types, permissions and groups: id to natural key, and back."""

    def __init__(self, keys: dict[type[models.Model], dict[Any, list[str]]]) -> None:
        self.keys = keys
        self.pks = {
            model: {tuple(key): pk for pk, key in found.items()} for model, found in keys.items()
        }

    @classmethod
    def read(cls) -> _Names:
        """Three queries, for any number of rows that name them."""
        content_types = {
            ct.pk: [ct.app_label, ct.model] for ct in ContentType.objects.order_by("pk")
        }
        permissions = {
            pk: [codename, *content_types[ct]]
            for pk, codename, ct in Permission.objects.values_list("pk", "codename", "content_type")
        }
        groups = {pk: [name] for pk, name in Group.objects.values_list("pk", "name")}
        return cls({ContentType: content_types, Permission: permissions, Group: groups})

    def key_of(self, model: type[models.Model], pk: Any) -> list[str]:
        return self.keys[model][pk]

    def pk_of(self, model: type[models.Model], key: Any, where: str) -> Any:
        if not isinstance(key, list) or not all(isinstance(part, str) for part in key):
            raise BackupError(f"{where}: expected the natural key of a {model.__name__}")
        pk = self.pks[model].get(tuple(key))
        if pk is None:
            raise BackupError(
                f"{where}: {model._meta.verbose_name} {'.'.join(key)} does not exist in this "
                "portal (is the archive from a portal with other apps installed?)"
            )
        return pk


# Import ----------------------------------------------------------------------------------------


class Archive:
    """An archive opened for reading: its manifest, and its rows model by model."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._tar = tarfile.open(self.path, "r:gz")  # noqa: SIM115 (closed by close())
        except FileNotFoundError as error:
            raise BackupError(f"{self.path} does not exist.") from error
        except (tarfile.TarError, OSError, EOFError) as error:
            raise BackupError(
                f"{self.path} is not an export of the portal (not a .tar.gz archive: {error})."
            ) from error
        manifest = self._json(MANIFEST)
        if not isinstance(manifest, dict):
            raise BackupError(f"{self.path}: {MANIFEST} is not a JSON object.")
        self.manifest: dict[str, Any] = manifest

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _member(self, name: str) -> IO[bytes] | None:
        try:
            return self._tar.extractfile(name)
        except KeyError:
            return None
        except (tarfile.TarError, OSError, EOFError) as error:
            raise BackupError(f"{self.path}: cannot read {name} ({error}).") from error

    def _json(self, name: str) -> Any:
        member = self._member(name)
        if member is None:
            raise BackupError(f"{self.path} is not an export of the portal: it has no {MANIFEST}.")
        try:
            return json.load(member)
        except (ValueError, OSError, EOFError) as error:
            raise BackupError(f"{self.path}: {name} is not valid JSON ({error}).") from error

    def rows(self, label: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """``label``'s rows with their line numbers; none if the archive has no file for it."""
        member = self._member(f"data/{label}.jsonl")
        if member is None:
            return
        where = f"data/{label}.jsonl"
        try:
            for number, line in enumerate(member, start=1):
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise BackupError(f"{where} line {number}: not a JSON object.")
                yield number, row
        except (ValueError, OSError, EOFError) as error:
            raise BackupError(f"{where}: unreadable ({error}).") from error


def import_portal(path: Path, *, new_key: bool = False) -> Summary:
    """Restore the archive at ``path`` into this empty, migrated database, all or nothing.

    Refused, with a message and nothing written: an archive of another format or version, or of
    a newer schema; a database that is not migrated or not empty; a secret key other than the one
    the archive's feed tokens were made with, unless ``new_key`` accepts that every feed URL
    changes (the tokens' hashes are then made again under this key).
    """
    with Archive(path) as archive, transaction.atomic():
        manifest = archive.manifest
        check_format(manifest)
        check_schema(manifest)
        key_changed = check_key(manifest, new_key=new_key)
        check_empty()
        counts = _restore(archive, manifest)
        if key_changed:
            rekey_feed_tokens(by=None)  # every feed URL changes; remembers this key
        else:
            record_secret_key()
        _reset_sequences()
        search.rebuild()
        AuditEntry.record(
            "portal.restored",
            archive.path.name,
            by=None,
            archive_created_at=manifest.get("created_at"),
            counts=counts,
            secret_key_fingerprint=secret_key_fingerprint(settings.SECRET_KEY),
            new_key=key_changed,
        )
    return Summary(archive.path, manifest, counts, key_changed)


def check_format(manifest: Mapping[str, Any]) -> None:
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"This is not an export of the portal (format {manifest.get('format')!r}, "
            f"expected {FORMAT!r})."
        )
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BackupError(f"Unknown export format version {version!r}.")
    if version > VERSION:
        raise BackupError(
            f"This archive is format version {version}, made by a newer portal; this portal "
            f"reads version {VERSION}. Import it with the portal version that made it."
        )
    for key, kind in (
        ("django_migrations", dict),
        ("counts", dict),
        ("secret_key_fingerprint", str),
    ):
        if not isinstance(manifest.get(key), kind):
            raise BackupError(f"The archive's manifest has no valid {key!r}.")


def check_schema(manifest: Mapping[str, Any]) -> None:
    """The archive's schema must be this portal's or older, and this database fully migrated."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    ours = {label.split(".")[0] for label in KEPT}
    for app, name in sorted(manifest["django_migrations"].items()):
        if app in ours and (app, name) not in loader.graph.nodes:
            raise BackupError(
                f"This archive comes from a newer schema: migration {app}.{name} is unknown to "
                "this portal. Upgrade the portal to the version that made the archive, migrate, "
                "then import."
            )
    unknown = sorted(set(manifest["counts"]) - set(KEPT))
    if unknown:
        raise BackupError(
            f"This archive holds models this portal does not know: {', '.join(unknown)}."
        )
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        first = pending[0][0]
        raise BackupError(
            f"This database is not migrated ({first.app_label}.{first.name} and "
            f"{len(pending) - 1} more to apply): run `manage.py migrate`, then import."
        )


def check_key(manifest: Mapping[str, Any], *, new_key: bool) -> bool:
    """Whether the key differs from the archive's (and ``new_key`` accepts it); refused if not."""
    theirs = manifest["secret_key_fingerprint"]
    if theirs == secret_key_fingerprint(settings.SECRET_KEY):
        return False
    if new_key:
        return True
    raise BackupError(
        f"This archive's feed tokens were made with the secret key {theirs}; start with that "
        "SECRET_KEY, or pass --new-key to accept that every feed URL changes."
    )


def check_empty() -> None:
    """Only the rows migrate makes may be there (groups are merged by name)."""
    found = [
        f"{model._meta.verbose_name_plural}"
        for model in map(apps.get_model, KEPT)
        if model._meta.label_lower != MERGED_BY_NAME and model._base_manager.exists()
    ]
    if found:
        raise BackupError(
            f"This database is not empty (it has {', '.join(found)}): import restores into an "
            "empty database only. Create a new database, run `manage.py migrate`, then import."
        )


def _restore(archive: Archive, manifest: Mapping[str, Any]) -> dict[str, int]:
    names = _Names.read()
    counts: dict[str, int] = {}
    links: list[tuple[models.ManyToManyField[Any, Any], Any, list[Any]]] = []
    for label in KEPT:
        if label == MERGED_BY_NAME:
            counts[label] = _merge_groups(archive, names)
            names = _Names.read()
        else:
            counts[label] = _insert(archive, label, names, links)
        expected = manifest["counts"].get(label, 0)
        if counts[label] != expected:
            raise BackupError(
                f"data/{label}.jsonl holds {counts[label]} rows where the manifest says "
                f"{expected}: the archive is damaged."
            )
    _link(links)
    return counts


def _merge_groups(archive: Archive, names: _Names) -> int:
    count = 0
    for number, row in archive.rows(MERGED_BY_NAME):
        where = f"data/{MERGED_BY_NAME}.jsonl line {number}"
        group, _ = Group.objects.get_or_create(name=row.get("name"))
        group.permissions.set(
            [names.pk_of(Permission, key, where) for key in row.get("permissions", [])]
        )
        count += 1
    return count


def _insert(
    archive: Archive,
    label: str,
    names: _Names,
    links: list[tuple[models.ManyToManyField[Any, Any], Any, list[Any]]],
) -> int:
    """Insert ``label``'s rows as they are, in batches, auto_now fields included."""
    model = apps.get_model(label)
    fields = list(model._meta.concrete_fields)
    m2m = {m.name: m for m in model._meta.many_to_many}
    known = {f.name for f in fields} | set(m2m)
    batch: list[models.Model] = []
    count = 0
    for number, row in archive.rows(label):
        where = f"data/{label}.jsonl line {number}"
        unknown = sorted(row.keys() - known)
        if unknown:
            raise BackupError(f"{where}: {label} has no field {', '.join(unknown)}.")
        obj = model(
            **{f.attname: _decode(f, row[f.name], names, where) for f in fields if f.name in row}
        )
        for name, values in row.items():
            if name in m2m:
                links.append((m2m[name], obj.pk, values))
        batch.append(obj)
        count += 1
        if len(batch) >= BATCH:
            _insert_batch(model, fields, batch, label)
            batch = []
    if batch:
        _insert_batch(model, fields, batch, label)
    return count


def _decode(field: models.Field[Any, Any], value: Any, names: _Names, where: str) -> Any:
    if value is None or isinstance(field, models.JSONField):
        return value
    if field.is_relation and field.related_model in NAMED:
        return names.pk_of(cast(type[models.Model], field.related_model), value, where)
    try:
        return field.to_python(value)
    except ValidationError as error:
        raise BackupError(f"{where}: {field.name}: {' '.join(error.messages)}") from error


def _insert_batch(
    model: type[models.Model],
    fields: list[models.Field[Any, Any]],
    batch: list[models.Model],
    label: str,
) -> None:
    # ``raw``, as loaddata saves: values go in as they are, where bulk_create would stamp the
    # auto_now fields (an audit entry's time, an incident's opening) with the time of the import.
    size = max(1, min(BATCH, connection.ops.bulk_batch_size(fields, batch)))
    try:
        for start in range(0, len(batch), size):
            model._base_manager._insert(  # type: ignore[attr-defined]
                batch[start : start + size], fields=fields, raw=True
            )
    except (DatabaseError, ValueError) as error:
        raise BackupError(f"data/{label}.jsonl cannot be restored: {error}") from error


def _link(links: list[tuple[models.ManyToManyField[Any, Any], Any, list[Any]]]) -> None:
    """The many-to-many rows, once every row they join is in."""
    names = _Names.read()
    rows: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    for m2m, pk, values in links:
        through, source, target = _through(m2m)
        related = m2m.related_model
        where = f"{m2m.model._meta.label_lower} {pk} {m2m.name}"
        for value in values:
            other = names.pk_of(related, value, where) if related in NAMED else value
            rows[through].append(through(**{source: pk, target: other}))
    try:
        for through, objs in rows.items():
            through._default_manager.bulk_create(objs, batch_size=BATCH)
    except DatabaseError as error:
        raise BackupError(f"A many-to-many link cannot be restored: {error}") from error


def _reset_sequences() -> None:
    """Rows came in with their ids: PostgreSQL's sequences must start after them, or the next
    row made would collide. (SQLite's AUTOINCREMENT follows inserted ids by itself.)"""
    statements = connection.ops.sequence_reset_sql(no_style(), list(map(apps.get_model, KEPT)))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
