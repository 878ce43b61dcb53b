"""Settings, read from the environment. Anything required and missing fails at start-up.

Development defaults are safe for loopback only; production sets CONSOLE_ENV=production,
which demands a real secret key and allowed hosts.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    "django_htmx",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "console.middleware.RequestIdMiddleware",
    # Serves /static/ (CSS, the vendored htmx) in every mode, under gunicorn as under runserver.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "console.middleware.HtmxSessionEndedMiddleware",
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

LANGUAGE_CODE = "en-us"
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
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Kubernetes impersonation: act as the logged-in user towards the cluster (see console/impersonation.py).
CONSOLE_IMPERSONATE = env_bool("CONSOLE_IMPERSONATE", False)
CONSOLE_IMPERSONATE_USER_PREFIX = os.environ.get("CONSOLE_IMPERSONATE_USER_PREFIX", "")
CONSOLE_IMPERSONATE_GROUP_PREFIX = os.environ.get("CONSOLE_IMPERSONATE_GROUP_PREFIX", "")

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
