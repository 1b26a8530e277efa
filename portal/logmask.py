"""Feed tokens kept out of the logs.

A calendar feed's address carries the token that is its only credential
(``/calendars/<token>/<name>.ics``), so every log line with the path (a server's access log,
Django's "Not Found" warning) would hand a working feed URL to whoever reads the logs. Such
paths are logged with the token cut to its first four characters and "…": enough to tell two
subscribers apart, useless as a credential.

The logging filter is used by ``LOGGING`` in portal/settings.py (Django's request and
development-server logs) and by portal/gunicorn_logger.py (gunicorn's access and error logs).
Plain Python: gunicorn's master process imports it before Django is set up.
"""

from __future__ import annotations

import logging
import re

# /calendars/<segment>/<more>: the segment is the token, of which the first 4 characters stay.
# "/calendars/rotate/" has nothing after its slash, so it stays whole. A segment ends where a
# path in a log line does: at /, ?, #, a space or a quote.
_FEED_PATH = re.compile(r"""(/calendars/[^/?#\s"']{0,4})[^/?#\s"']*(?=/[^/?#\s"'])""")


def mask_feed_tokens(text: str) -> str:
    """``text`` with the token of every feed path in it cut to its first characters and "…"."""
    return _FEED_PATH.sub(r"\1…", text)


class MaskFeedTokens(logging.Filter):
    """Rewrites a record whose message holds a feed path; lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_feed_tokens(message)
        if masked != message:
            # The formatted message replaces the template and its arguments: a token can be
            # in either, and the arguments of gunicorn's access log are a dict of atoms.
            record.msg, record.args = masked, ()
        return True


class MaskInArguments(logging.Filter):
    """Replaces ``pattern`` in a record's arguments: httpx logs every request's URL at INFO, and
    some URLs carry their credential (a PagerDuty feed's key, a Slack webhook's path)."""

    def __init__(self, pattern: re.Pattern[str], replacement: str) -> None:
        super().__init__()
        self.pattern, self.replacement = pattern, replacement

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.pattern.sub(self.replacement, str(arg))
                if not isinstance(arg, int | float) and self.pattern.search(str(arg))
                else arg
                for arg in record.args
            )
        return True
