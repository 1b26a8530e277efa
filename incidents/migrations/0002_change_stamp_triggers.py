"""Watch the tables behind the dashboard's incident panel with the change stamp, so the panel
is remembered while nothing changes (portal/stamp.py)."""

from django.db import migrations

from portal.triggers import watching

TABLES = ["incidents_incident", "incidents_postmortem", "incidents_actionitem"]


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_incidents"), ("portal", "0003_change_stamp_triggers")]

    operations = [watching(TABLES)]
