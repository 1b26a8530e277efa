"""WSGI entry point (gunicorn portal.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: the one check that must stop a web process runs here.
from portal.keycheck import refuse_a_foreign_secret_key  # noqa: E402 (needs the apps loaded)

refuse_a_foreign_secret_key()
