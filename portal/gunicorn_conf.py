"""gunicorn's settings for the portal: ``gunicorn -c portal/gunicorn_conf.py portal.wsgi``.

What every deployment of the portal needs from gunicorn, whatever the recipe adds (bind
address, workers, timeouts; options on the command line override these): an access log in
which feed tokens are masked (portal/logmask.py says why).
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from portal.logmask import MaskFeedTokens

# One instance, so that the setup a configuration reload runs again adds no second filter.
_MASK = MaskFeedTokens()


class FeedTokenMaskingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with feed tokens masked in its access and error logs."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            log.addFilter(_MASK)


logger_class = FeedTokenMaskingLogger
accesslog = "-"
