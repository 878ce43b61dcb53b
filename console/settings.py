"""Settings, read from the environment. Anything required and missing fails at start-up.

Development defaults are safe for loopback only; production sets CONSOLE_ENV=production,
which demands a real secret key and allowed hosts.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import csp.constants as _csp  # the Content-Security-Policy block below
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


CONSOLE_ENV = env_str("CONSOLE_ENV", "development")
PRODUCTION = CONSOLE_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set DJANGO_ALLOWED_HOSTS in production.")
    DEBUG = False
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-not-secret-" + "x" * 40)
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    DEBUG = env_bool("DJANGO_DEBUG", False)

# Which Kubernetes API the console talks to: a kubeconfig file (and optional context), or the
# pod's in-cluster service account. Unset, kubectl's rules apply ($KUBECONFIG, ~/.kube/config).
CONSOLE_KUBECONFIG = os.environ.get("CONSOLE_KUBECONFIG") or os.environ.get("KUBECONFIG") or None
CONSOLE_KUBE_CONTEXT = os.environ.get("CONSOLE_KUBE_CONTEXT") or None
CONSOLE_IN_CLUSTER = env_bool("CONSOLE_IN_CLUSTER", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",  # /metrics (console/metrics.py)
    "django_htmx",
    "axes",  # log-in throttling: see "Log-in throttling" below
    "console",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole request
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # the Content-Security-Policy header: see "Content-Security-Policy" below
    "console.middleware.RequestIdMiddleware",
    # One log record per request once answered (JSON with CONSOLE_LOG_FORMAT=json); sees the user below.
    "console.request_log.RequestLogMiddleware",
    # Serves /static/ (CSS, the vendored htmx) in every mode, under gunicorn as under runserver.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the request: the cookie the header's switcher sets, else Accept-Language.
    # After the session and before CommonMiddleware, where Django's i18n docs place it.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "console.middleware.HtmxSessionEndedMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # after the views: sees the view and the status
    # Last, as django-axes asks: turns a locked-out log-in into its answer (console.auth.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

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
                "console.context_processors.navigation",
            ],
        },
    },
]

# Users, roles and the audit log only: the EMQX resources live in the Kubernetes API.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(env_str("CONSOLE_SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))),
        # Wait up to 20 s for another thread's or worker's write to finish, rather than failing at
        # once with "database is locked" (the audit, the timeline and sessions all write here).
        # WAL: pages read while the audit, the timeline recorder or a session writes (SQLite's
        # "Write-Ahead Logging"). read_uncommitted matters only for the test database (in-memory,
        # shared cache), where a read would otherwise fail at once on the table lock of a writing
        # thread ("database table is locked"): as in WAL, readers then take no table locks.
        "OPTIONS": {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA read_uncommitted=1",
        },
        # Keep each thread's connection across requests (Django's "persistent connections") instead of
        # opening the file, running the PRAGMAs above and closing it on every request: a status poll
        # spent a tenth of its CPU on that. Every request still reads its session and user from the
        # database (a revoked session ends at once in every worker: console/sessions.py); WAL readers
        # see each commit.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
}
if os.environ.get("DATABASE_URL", "").startswith("postgres"):
    from urllib.parse import urlparse

    _url = urlparse(os.environ["DATABASE_URL"])
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": _url.username or "",
        "PASSWORD": _url.password or "",
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or ""),
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# ----- Languages (issue 19) ------------------------------------------------------------------------
# English and Simplified Chinese. LocaleMiddleware picks the language from the django_language
# cookie that the header's switcher sets (django.views.i18n.set_language, at /i18n/setlang/), else
# from the browser's Accept-Language, else English. The URLs are the same in every language (no
# i18n_patterns). The zh_Hans catalogue is locale/zh_Hans/LC_MESSAGES/django.po; its .mo is compiled
# by make run / make test and at image build, never committed. Terms: docs/glossary-zh.md.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Static files are served from where they live (no collectstatic step to forget; they are few
# and small). Set DJANGO_STATIC_ROOT to collect them for a front proxy instead.
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_AGE = 8 * 60 * 60
# Django's database sessions, each request's row read by one SQL query (console/sessions.py says why).
SESSION_ENGINE = "console.sessions"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie

# ----- Content-Security-Policy (django-csp, issue 15) ---------------------------------------------
# Pages load only what the console serves itself, from 'self': the stylesheet, htmx and
# static/console/*.js. Nothing inline: no <script> element with a body, no on* attribute, no style=""
# attribute, no eval. htmx is configured for it by the <meta name="htmx-config"> of
# templates/console/base.html: allowEval false (so no hx-trigger filter expressions, no js: values)
# and includeIndicatorStyles false (no <style> element of its own). The browser tests collect CSP
# violations on every page, in both themes, and fail on any (tests/e2e/test_accessibility.py).
# Django's admin (/admin/) keeps to the same policy: its templates have no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_csp.SELF],
        "script-src": [_csp.SELF],
        "style-src": [_csp.SELF],
        "img-src": [_csp.SELF],
        "font-src": [_csp.SELF],
        "connect-src": [_csp.SELF],  # htmx's polls and partials
        "form-action": [_csp.SELF],
        "object-src": [_csp.NONE],
        "base-uri": [_csp.NONE],
        "frame-ancestors": [_csp.NONE],  # as X-Frame-Options: DENY
    },
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# ----- Log-in throttling, the client's address behind a proxy, request ids ---------------------
# Every log-in path (/login/ and /admin/login/) goes through django-axes' backend, first in
# AUTHENTICATION_BACKENDS: it refuses a locked-out attempt before the password is checked.
# Failures are counted per (username, client address) pair, never per username alone (which
# would let anyone lock a person out) nor per address alone (behind a proxy that is everyone):
# 5 failures, each within 15 minutes of the previous, lock that pair for 15 minutes from the
# last one, even with the right password; a success clears the pair's count; failures while
# locked do not prolong it. The username is counted as Django compares it (NFKC, as the log-in
# form does), casefolded (console.auth.axes_username): "admin" in fullwidth letters or "ADMIN" is "admin".
# An admin unlocks early under Axes > Access attempts in /admin/.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading each request's user by one SQL query (console/sessions.py).
    "console.sessions.SessionUserBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "console.auth.axes_username"
AXES_CLIENT_IP_CALLABLE = "console.proxies.client_ip"
AXES_LOCKOUT_CALLABLE = "console.auth.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The client's address (console/proxies.py), for the throttle: REMOTE_ADDR, unless the peer is
# one of CONSOLE_TRUSTED_PROXIES (comma-separated addresses or CIDR networks of the TLS proxy,
# e.g. "10.0.0.0/8,fd00::/8"); then the client named in CONSOLE_TRUSTED_PROXY_HEADER (default
# X-Forwarded-For, which the proxy must append to). With none listed, the header is ignored.
# The same trust decides whether a proxy's X-Request-ID is kept (console.middleware).
CONSOLE_TRUSTED_PROXY_HEADER = env_str("CONSOLE_TRUSTED_PROXY_HEADER", "X-Forwarded-For")


def _trusted_proxies_from_env() -> list[str]:
    from console.proxies import parse_networks

    entries = env_list("CONSOLE_TRUSTED_PROXIES")
    try:
        return [str(network) for network in parse_networks(entries)]
    except ValueError as error:
        raise ImproperlyConfigured(f"CONSOLE_TRUSTED_PROXIES: {error}.") from None


CONSOLE_TRUSTED_PROXIES = _trusted_proxies_from_env()

# ----- Kubernetes impersonation (see console/impersonation.py and the README) ------------------
# Act as the logged-in user towards the cluster: Impersonate-User <user prefix><username>,
# Impersonate-Group <group prefix><group name> for each Django group. The prefixes keep every
# identity the console asserts in its own namespace (default "console:"); one starting with
# "system:" (Kubernetes' reserved names, e.g. system:masters) or not sendable in a header is
# refused here, at start-up.
CONSOLE_IMPERSONATE = env_bool("CONSOLE_IMPERSONATE", False)


def _impersonation_prefix(name: str) -> str:
    from console.impersonation import prefix_problem

    value = os.environ.get(name, "console:")
    problem = prefix_problem(value)
    if problem:
        raise ImproperlyConfigured(f"{name}={value!r}: {problem}.")
    return value


CONSOLE_IMPERSONATE_USER_PREFIX = _impersonation_prefix("CONSOLE_IMPERSONATE_USER_PREFIX")
CONSOLE_IMPERSONATE_GROUP_PREFIX = _impersonation_prefix("CONSOLE_IMPERSONATE_GROUP_PREFIX")

# ----- Several clusters, the fleet dashboard and the condition timeline -----------------------
# CONSOLE_CLUSTERS is a list of {"name", "kubeconfig", "context", "in_cluster"}; each name is
# the cluster's slug in every URL (/clusters/<name>/...). From the environment, either
#   CONSOLE_CLUSTERS_JSON='[{"name": "prod", "kubeconfig": "/etc/kube/prod.yaml", "context": "prod"},
#                           {"name": "local", "in_cluster": true}]'
# or one cluster per context of CONSOLE_KUBECONFIG (named after it, or name=context):
#   CONSOLE_KUBE_CONTEXTS=prod-eu,prod-us,staging=kind-staging
# Neither set: the single cluster "default" from CONSOLE_KUBECONFIG / CONSOLE_KUBE_CONTEXT above.
_CLUSTER_KEYS = {"name", "kubeconfig", "context", "in_cluster"}


def _clusters_from_env() -> list[dict[str, object]]:
    import json
    import re

    declared: list[dict[str, object]] = []
    raw_json = os.environ.get("CONSOLE_CLUSTERS_JSON", "").strip()
    contexts = env_list("CONSOLE_KUBE_CONTEXTS")
    if raw_json and contexts:
        raise ImproperlyConfigured("Set CONSOLE_CLUSTERS_JSON or CONSOLE_KUBE_CONTEXTS, not both.")
    if raw_json:
        try:
            declared = json.loads(raw_json)
        except ValueError as error:
            raise ImproperlyConfigured(f"CONSOLE_CLUSTERS_JSON is not valid JSON: {error}") from None
        if not isinstance(declared, list) or not all(isinstance(c, dict) for c in declared):
            raise ImproperlyConfigured("CONSOLE_CLUSTERS_JSON must be a JSON list of objects.")
    for item in contexts:
        given, _, context = item.rpartition("=")
        given = given or re.sub(r"[^a-z0-9-]+", "-", context.lower()).strip("-")
        declared.append({"name": given, "kubeconfig": CONSOLE_KUBECONFIG, "context": context})
    seen: set[str] = set()
    for cluster in declared:
        unknown = set(cluster) - _CLUSTER_KEYS
        if unknown:
            raise ImproperlyConfigured(f"Unknown keys in a cluster of CONSOLE_CLUSTERS: {', '.join(sorted(unknown))}.")
        name = cluster.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[-a-zA-Z0-9_]+", name):
            raise ImproperlyConfigured(f"A cluster's name must be a slug (letters, digits, - and _), not {name!r}.")
        if name in seen:
            raise ImproperlyConfigured(f"Two clusters are called {name!r}.")
        seen.add(name)
        if not isinstance(cluster.get("in_cluster", False), bool):
            raise ImproperlyConfigured(f"in_cluster of cluster {name!r} must be true or false.")
    return declared


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {raw!r}.") from None
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative.")
    return value


CONSOLE_CLUSTERS = _clusters_from_env()
# An instance not Ready for longer than this (since its current condition's lastTransitionTime)
# is listed on the dashboards.
CONSOLE_NOT_READY_THRESHOLD_SECONDS = int(_env_seconds("CONSOLE_NOT_READY_THRESHOLD_SECONDS", 600))
# The longest a dashboard page waits for caches it has just started (then it shows them as
# connecting); a poll never waits, and a cluster already known to be down is never waited for.
CONSOLE_DASHBOARD_WARMUP_SECONDS = _env_seconds("CONSOLE_DASHBOARD_WARMUP_SECONDS", 1.0)
# How often each cluster's recent Warning Events are listed (in the background) for the dashboards.
CONSOLE_EVENTS_POLL_SECONDS = _env_seconds("CONSOLE_EVENTS_POLL_SECONDS", 15.0)
# The condition timeline: None records unless the database is an in-memory SQLite (the test
# database, where a second writing thread would collide with the request's); true/false force it.
CONSOLE_TIMELINE_RECORDING: bool | None = (
    env_bool("CONSOLE_TIMELINE_RECORDING", True) if "CONSOLE_TIMELINE_RECORDING" in os.environ else None
)
# Transitions kept per instance (the oldest go first).
CONSOLE_TIMELINE_KEEP = int(_env_seconds("CONSOLE_TIMELINE_KEEP", 200))

# ----- Health, metrics and logs for running in Kubernetes (console/health.py, console/metrics.py,
# console/request_log.py; the Helm chart in deploy/chart/ sets these) ------------------------------
# /healthz, /readyz and /metrics answer plain HTTP from the kubelet and Prometheus, who speak to the pod,
# not through the TLS proxy: no redirect to https for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# The bearer token /metrics requires (unset: open in development, 404 in production).
CONSOLE_METRICS_TOKEN = os.environ.get("CONSOLE_METRICS_TOKEN", "")
# "text" (Django's logging) or "json": one JSON object a line on standard error, for a log pipeline,
# with a record per request and per audit entry (console/request_log.py).
CONSOLE_LOG_FORMAT = env_str("CONSOLE_LOG_FORMAT", "text")
if CONSOLE_LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"CONSOLE_LOG_FORMAT must be text or json, not {CONSOLE_LOG_FORMAT!r}.")
if CONSOLE_LOG_FORMAT == "json":
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "console": {"level": "INFO"},
            "django": {"level": "INFO"},
            "django.server": {"level": "WARNING"},
            # A replica still loading answers /readyz with 503 every probe: not a warning each time.
            "health_check": {"level": "ERROR"},
        },
    }
