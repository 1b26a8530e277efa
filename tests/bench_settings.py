"""Settings for ``make bench``: the portal's own, with a bare baseline view routed in."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench_urls"
DEBUG = False
