"""Every periodic job the portal runs, with why it runs at that cadence.

``manage.py sync_schedules`` upserts these into django-q2's Schedule table by name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str
    minutes: int
    why: str


PERIODIC_JOBS = [
    PeriodicJob(
        name="materialise shifts",
        func="rotation.jobs.materialise_all_shifts",
        minutes=6 * 60,
        # Roster edits materialise at once; this only moves the year-ahead horizon, and 4 runs a
        # day keep it moving even when a worker was down for a night.
        why="extends the stored year of shifts as time passes",
    ),
    PeriodicJob(
        name="publish calendars",
        func="feeds.jobs.publish_all_calendars",
        minutes=60,
        # A feed request publishes again itself after any write; running hourly means that
        # request, usually Google's, finds the work done and the feed's year ahead kept long.
        why="keeps the calendar feeds' published events equal to the schedule",
    ),
    PeriodicJob(
        name="sync PagerDuty escalation policies",
        func="pagerduty.jobs.sync_pagerduty_policies",
        minutes=1,
        # Each minute is a local check; PagerDuty is asked only when a handoff or override edge
        # has passed, or every five minutes to catch hand edits: within a minute of a handoff.
        # A sync killed midway is finished by the next run within its 30-second lease plus
        # this minute (pagerduty/sync.py).
        why="keeps level 1 the primary and level 2 the secondary in PagerDuty",
    ),
    PeriodicJob(
        name="import PagerDuty schedule feeds",
        func="pagerduty.jobs.import_webcal_feeds",
        minutes=30,
        # PagerDuty's feeds change only when someone edits its schedules; half an hour shows
        # drift the same morning without polling a feed the way a calendar app would.
        why="shows where PagerDuty's schedules disagree with the roster",
    ),
    PeriodicJob(
        name="clear expired sessions",
        func="portal.jobs.clear_expired_sessions",
        minutes=24 * 60,
        # Sessions expire two weeks after their last save; a day's worth of stale rows is
        # nothing, and a daily run keeps the table to the sessions of the last two weeks.
        why="keeps the session table from growing forever",
    ),
    PeriodicJob(
        name="send email notices",
        func="portal.notices.send_pending",
        minutes=5,
        # Every notice is queued on commit as well; this catches one whose task was lost (a
        # broker restart) or whose send failed, within five minutes.
        why="sends the notices actions wrote that no queued task has sent",
    ),
    PeriodicJob(
        name="remind untriaged days",
        func="handoff.jobs.remind_untriaged",
        minutes=15,
        # Triage falls due at an hour set per rotation (11:00 by default); a quarter-hour run
        # reminds within 15 minutes of it, and the notice's key keeps it to one email a day.
        why="emails the primary when today's notifications are not triaged by the due hour",
    ),
]
