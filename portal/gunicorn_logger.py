"""gunicorn's logger for the portal, named by ``logger_class`` in portal/gunicorn.conf.py: feed
tokens masked in the access and error logs (portal/logmask.py says why)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from portal.logmask import MaskFeedTokens

# One instance, so that the setup a configuration reload (HUP) runs again adds no second filter.
_MASK = MaskFeedTokens()


class FeedTokenMaskingLogger(Logger):  # type: ignore[misc]
    """gunicorn's own logger, with feed tokens masked in every line it writes, whatever the
    access log's format."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            log.addFilter(_MASK)
