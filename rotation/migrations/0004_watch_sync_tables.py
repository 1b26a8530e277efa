"""Watch the PagerDuty sync tables with the change stamp, so the dashboard's sync panel is
remembered while no run has happened (portal/stamp.py)."""

from django.db import migrations

from portal.triggers import watching

TABLES = ["rotation_syncrun", "rotation_webcalimport"]


class Migration(migrations.Migration):
    dependencies = [("rotation", "0003_pagerduty_sync"), ("portal", "0003_change_stamp_triggers")]

    operations = [watching(TABLES)]
