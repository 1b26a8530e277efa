"""gunicorn's settings for the portal in production: ``gunicorn -c portal/gunicorn.conf.py``.

Each web process serves the portal behind a reverse proxy (README, "Running in production").
Options given on the command line win over these, so one file serves every process on a host
(``--bind 127.0.0.1:8001`` for the second one).
"""

# ruff: noqa: N999  (gunicorn looks for a file of this name; it is never imported)

import os

wsgi_app = "portal.wsgi:application"
# Loopback only: the reverse proxy in front terminates TLS and is the only client.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
# Synchronous workers: each page is a few short queries, so CPU-bound; about two per core.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A page that takes 30 s is a bug (Markdown is rendered on save, never per view): the worker is
# killed and replaced rather than held. The graceful timeout lets a restart finish requests.
timeout = 30
graceful_timeout = 30
# Recycle each worker after about a thousand requests, staggered, to bound slow memory growth.
max_requests = 1000
max_requests_jitter = 100
# X-Forwarded-Proto is believed only from the proxy's address (gunicorn then sets the request's
# scheme, so Django sees https); set FORWARDED_ALLOW_IPS when the proxy is on another host.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Every process on a host would share the one default control socket ($HOME/.gunicorn):
# processes are managed by the service manager's signals instead.
control_socket_disable = True
# Both logs go to stderr, for the service manager's journal.
accesslog = "-"
errorlog = "-"
# Feed tokens are credentials inside URLs: both logs show them cut to four characters.
logger_class = "portal.gunicorn_logger.FeedTokenMaskingLogger"
