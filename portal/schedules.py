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
        name="open handoff reports",
        func="handoff.jobs.open_handoff_reports",
        minutes=15,
        # A report opens a day before its handoff; a quarter-hour's lag on that day is nothing,
        # and the report page opens one on demand anyway. A missed handoff is caught next run.
        why="opens each week's handoff report for the outgoing primary to fill in",
    ),
    PeriodicJob(
        name="import PagerDuty incidents",
        func="pagerduty.jobs.import_incidents",
        minutes=5,
        # A page is answered in minutes, so its portal incident should be there by the time
        # someone opens the portal; each run costs one policy read, a page per 100 incidents and
        # a log read per newly acknowledged or resolved one: far below 960 requests a minute.
        why="links PagerDuty's incidents to portal incidents, opening one per high-urgency page",
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
        name="write reminders",
        func="portal.reminders.send_reminders",
        minutes=5,
        # An hour-before reminder should land close to its hour; each run looks back two hours
        # (portal/reminders.py), so a worker down an hour still writes what it missed, once.
        why="emails a week and a day before a stint, an hour before a shift, and due items",
    ),
    PeriodicJob(
        name="post handoffs to Slack",
        func="slack_app.jobs.post_handoffs",
        minutes=5,
        # A handoff is news within minutes; each run looks back two hours and the key posts
        # each handoff once, however many runs or workers see it. Nothing without a webhook.
        why="posts each rotation's new primary and secondary at its handoff",
    ),
    PeriodicJob(
        name="post overdue customer updates to Slack",
        func="incidents.jobs.post_overdue_updates",
        minutes=5,
        # Updates fall due every 30-60 minutes by severity; five minutes late is still useful,
        # and the key posts each missed due time once. Nothing without a webhook.
        why="tells the channel when an incident's customer update is overdue",
    ),
    PeriodicJob(
        name="send Slack posts",
        func="slack_app.jobs.send_posts",
        minutes=5,
        # Every post is queued on commit as well; this catches a lost task or a failed post
        # (Slack down, a 5xx) within five minutes, keeping the error on the row meanwhile.
        why="sends the Slack posts jobs and actions wrote that no queued task has sent",
    ),
    PeriodicJob(
        name="sync Slack user groups",
        func="slack_app.jobs.sync_user_groups",
        minutes=1,
        # @<rotation>-oncall must follow a handoff, cover or swap within a minute; a run that
        # finds the same people as last pushed calls Slack not at all. Nothing without a bot.
        why="keeps each rotation's Slack user group equal to its primary and secondary now",
    ),
    PeriodicJob(
        name="post swap and cover requests to Slack",
        func="slack_app.jobs.post_requests",
        minutes=1,
        # A request waits on one person's click, so it should reach the channel at once; each
        # run looks back two hours and the key posts each request once. Only with the bot.
        why="posts new swap and cover requests with Accept and Decline buttons",
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
