"""Settings for the on-call portal: one file, driven by environment variables (see DESIGN.md).

The defaults serve one machine: a SQLite file in the project, django-q2's ORM broker, a
development secret generated on first use, DEBUG off unless asked for.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

# Lets admin and form classes be subscripted at run time, as django-stubs types them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated variable as its non-empty items, spaces trimmed."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, Any]:
    """``sqlite:///path``, ``sqlite://:memory:`` or ``postgres://user:pass@host:port/name``."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme == "sqlite":
        name = parts.path[1:] if parts.path.startswith("/") else parts.path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name or parts.netloc,
            # Opening a SQLite connection (and setting WAL) costs more than most page queries.
            "CONN_MAX_AGE": None,
            # A busy web process and worker share the file: wait for the lock, don't fail.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", "60")),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use sqlite or postgres)")


def development_secret() -> str:
    """A secret kept in a git-ignored file, so sessions survive restarts on one machine."""
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# PORTAL_ENV=production: the portal faces the world. It then refuses to start without what
# only the operator can give (a secret key, the host names), and turns on what
# `manage.py check --deploy` asks for (HTTPS only, HSTS, secure cookies), each of which a
# variable can still turn down. The README's "Production settings" lists every variable.
PORTAL_ENV = os.environ.get("PORTAL_ENV", "development")
if PORTAL_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"PORTAL_ENV is 'development' or 'production', not {PORTAL_ENV!r}")
PRODUCTION = PORTAL_ENV == "production"
if PRODUCTION:
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not os.environ.get(name)]
    if missing:
        # Above all no generated .secret_key: each host would make its own, and every feed
        # URL made on one would be a 404 on the others.
        raise ImproperlyConfigured(
            f"PORTAL_ENV=production needs {' and '.join(missing)} in the environment "
            "(the README's Production settings)."
        )
    if env_flag("DEBUG"):
        raise ImproperlyConfigured("PORTAL_ENV=production runs with DEBUG off: unset DEBUG.")

DEBUG = env_flag("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or development_secret()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# HTTPS only. The load balancer's health check still reaches /healthz over plain HTTP.
SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", PRODUCTION)
# Only when a proxy in front terminates TLS and sets X-Forwarded-Proto itself (overwriting any
# the client sent): trusted otherwise, the header would let anyone claim HTTPS.
if env_flag("TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "axes",
    "portal",
    "rotation",
    "feeds",
    "pagerduty",
    "incidents",
    "runbooks",
    "handoff",
    "slack_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.nul.refuse_nul_characters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "portal.viewer.AdminInViewerZone",
    # Last, as django-axes asks: it turns a login refused for a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "portal.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before any password is hashed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "portal.auth.RememberingModelBackend",
    # Single sign-on (README: Single sign-on); it refuses everything while OIDC_ISSUER is unset.
    "sso.backend.ProviderBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "login"
# Sessions live in the database, so logging out ends a session wherever its cookie was copied
# to, on every web process; they are read through a cache that every process shares, so a page
# costs no query for its session (the query took a quarter of a runbook page's time). Redis
# where REDIS_URL is set (several hosts), else files on this machine. A cache of each process's
# own would go on accepting, in the other processes, a session logged out of in one.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "sessions"
CACHES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "sessions": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "session",
        }
        if os.environ.get("REDIS_URL")
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("SESSION_CACHE_DIR", str(BASE_DIR / "var" / "sessions")),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    ),
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_flag("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Single sign-on through an OpenID Connect provider (sso/, README: Single sign-on). The
# endpoints come from OIDC_ISSUER's discovery document; the rest are mozilla-django-oidc's.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "")
OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
OIDC_MANAGERS_GROUP = os.environ.get("OIDC_MANAGERS_GROUP", "")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:callback"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
if OIDC_ISSUER and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too.")
# Passwords for the demo and small teams; off, only the provider signs people in (the admin
# too), and no password is checked at all.
PASSWORD_LOGIN = env_flag("PASSWORD_LOGIN", True)
if not PASSWORD_LOGIN and not OIDC_ISSUER:
    raise ImproperlyConfigured("PASSWORD_LOGIN is off: set OIDC_ISSUER, or nobody can log in.")

# Login throttling (django-axes), for the portal's login page and the admin's: after
# AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is refused,
# the right password included, until AXES_COOLOFF_MINUTES pass without another attempt.
# Counting the pair, not the address alone, keeps one office behind one NAT address from being
# locked out by a single typo-prone colleague; not the username alone, so an attacker cannot
# lock the on-call engineer out of the portal in the middle of an incident. The counts are rows
# in the database, shared by every web process.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_CALLABLE = "portal.views.login_locked_out"
AXES_USERNAME_CALLABLE = "portal.auth.attempted_username"
AXES_CLIENT_IP_CALLABLE = "portal.auth.client_ip"
# No start-up banner on the stderr of every manage.py command; attempts are still logged.
AXES_VERBOSE = False
# How many reverse proxies in front of the portal append the address they saw to
# X-Forwarded-For. 0 (the default): the header is ignored, as any client can send it.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("PORTAL_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production sets STATIC_ROOT and runs collectstatic into it: files get content-hashed names,
# compressed copies and far-future cache headers from WhiteNoise, and a {% static %} name that
# was not collected fails loudly. Without it (one machine, development), WhiteNoise serves
# straight from the source folders: no collectstatic step to forget.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
if STATIC_ROOT:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
else:
    WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG


def mailer_from_url(url: str) -> dict[str, Any]:
    """``smtp://user:pass@host:port`` (``smtps://`` for TLS); empty: print mail to the console."""
    if not url:
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    return {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": parts.hostname or "localhost",
            "port": parts.port or 25,
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": parts.scheme == "smtps",
        },
    }


MAILERS = {"default": mailer_from_url(os.environ.get("EMAIL_URL", ""))}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "oncall@localhost")

Q_CLUSTER: dict[str, Any] = {
    "name": "oncall-portal",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 500,
    "label": "Jobs",
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]
else:
    Q_CLUSTER["orm"] = "default"

PAGERDUTY_API_URL = os.environ.get("PAGERDUTY_API_URL", "https://api.pagerduty.com")
PAGERDUTY_API_TOKEN = os.environ.get("PAGERDUTY_API_TOKEN", "")
PAGERDUTY_FROM_EMAIL = os.environ.get("PAGERDUTY_FROM_EMAIL", "")
# A Slack incoming webhook: handoffs, heads-ups and overdue customer updates are posted to it
# (slack_app/); unset, nothing is written for Slack.
SLACK_WEBHOOK_URL = os.environ.get("SLACK_WEBHOOK_URL", "")
# The Slack app (slack_app/): the bot token calls Slack's Web API at SLACK_API_URL (a local
# stand-in in tests and the demo); the signing secret verifies /slack/ requests; with both the
# token and SLACK_CHANNEL set, posts go to that channel with chat.postMessage instead of the
# webhook, and swap and cover requests get Accept/Decline buttons.
SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "")
SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
SLACK_CHANNEL = os.environ.get("SLACK_CHANNEL", "")
SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/")
# Where the worker may fetch the PagerDuty feed URLs managers enter: these hosts, over HTTPS,
# at public addresses only (portal/outbound.py). A trusted origin skips those checks: only for
# a local fake PagerDuty (make run and CI set it to http://127.0.0.1:<port>).
PAGERDUTY_FEED_HOSTS = env_list("PAGERDUTY_FEED_HOSTS", "*.pagerduty.com")
PAGERDUTY_FEED_TRUSTED_ORIGINS = env_list("PAGERDUTY_FEED_TRUSTED_ORIGINS")

# Which incidents owe a post-mortem: these severities, and any with customer impact.
POSTMORTEM_SEVERITIES = env_list("POSTMORTEM_SEVERITIES", "SEV1,SEV2")
POSTMORTEM_FOR_CUSTOMER_IMPACT = os.environ.get("POSTMORTEM_FOR_CUSTOMER_IMPACT", "1") == "1"

# How far ahead shifts are materialised; the engine answers beyond it.
SHIFT_HORIZON_DAYS = 366

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # A feed's address carries its token: masked wherever a request's path is logged.
    "filters": {"mask_feed_tokens": {"()": "portal.logmask.MaskFeedTokens"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_feed_tokens"]},
        # Django's own handler of runserver's request lines, declared again for the filter.
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "loggers": {
        # Filtered at the logger, before any handler (Django's DEBUG console, mail_admins).
        "django.request": {"filters": ["mask_feed_tokens"]},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["mask_feed_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
