"""Full-text search (runbooks/search.py): an FTS5 table on SQLite, filled from the pages there
are; on PostgreSQL a GIN index on the weighted tsvector that the search query computes."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

# The same expression, to the letter, as runbooks.search builds (SearchVector, config english):
# PostgreSQL uses an expression index only for a query that repeats its expression.
DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'B')"
)


def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            "CREATE VIRTUAL TABLE runbooks_search USING fts5("
            "title, body, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        schema_editor.execute(
            "INSERT INTO runbooks_search (rowid, title, body) "
            "SELECT id, title, body FROM runbooks_runbook"
        )
    elif vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX runbooks_runbook_search ON runbooks_runbook USING gin (({DOCUMENT}))"
        )


def drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS runbooks_search")
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS runbooks_runbook_search")


class Migration(migrations.Migration):
    dependencies = [("runbooks", "0001_runbooks")]

    operations = [migrations.RunPython(create, drop)]
