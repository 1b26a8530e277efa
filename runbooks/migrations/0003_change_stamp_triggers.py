"""Watch the runbook table with the change stamp, so the dashboard's list of pages due for
review is remembered while no page changes (portal/stamp.py)."""

from django.db import migrations

from portal.triggers import watching

TABLES = ["runbooks_runbook"]


class Migration(migrations.Migration):
    dependencies = [("runbooks", "0002_search_index"), ("portal", "0003_change_stamp_triggers")]

    operations = [watching(TABLES)]
