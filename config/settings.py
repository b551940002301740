"""Django settings, read once from the environment (or a `.env` file).

Every setting is documented in docs/configuration.md. Nothing else in the
project reads `os.environ`: code takes its configuration from these settings.
"""

from __future__ import annotations

import os
from pathlib import Path

import django
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# Never echoed in an error: their values are (or contain) secrets.
SECRET_VARIABLES = {
    "DATABASE_URL",
    "DJANGO_SECRET_KEY",
    "FM_PASSWORD",
    "S3_SECRET_ACCESS_KEY",
}


class Env(environ.Env):
    """django-environ, with a malformed variable reported as one line naming it
    (manage.py prints that line and exits 2) instead of a parser's traceback."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, **kwargs):
        try:
            return super().get_value(var, cast=cast, default=default, **kwargs)
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            # A number's parser speaks of what is left once it has stripped
            # the letters ('' for "abc"): say what is wanted instead.
            raise _malformed(
                var, "expected a number" if cast in (int, float) else str(exc)
            ) from None

    def db_url(self, var="DATABASE_URL", default=environ.Env.NOTSET, engine=None):
        raw = os.environ.get(var)
        if raw is not None and raw.partition("://")[0] not in self.DB_SCHEMES:
            raise _malformed(var, DATABASE_FORM)
        try:
            return super().db_url(var, default=default, engine=engine)
        except (ValueError, TypeError, KeyError):
            raise _malformed(var, DATABASE_FORM) from None


# What a DATABASE_URL looks like: its error says so, since its value, which
# may hold a password, is never shown.
DATABASE_FORM = "expected postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH"


def _malformed(var: str, why: str) -> ImproperlyConfigured:
    if var in SECRET_VARIABLES:
        # Neither the value nor a parser's words about it, unless they are
        # the expected form only.
        what = f"{var} is malformed" + (f" ({why})" if why == DATABASE_FORM else "")
    else:
        what = f"{var}={os.environ.get(var, '')!r} is malformed ({why})"
    return ImproperlyConfigured(f"{what}; see docs/configuration.md")


env = Env()
# A .env file beside manage.py is read if present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Where local state lives: the SQLite database, reports, the demo's dataset.
STATE_DIR = Path(env.str("MIGRATION_STATE_DIR", default=str(BASE_DIR / "var")))
# The SQLite database and the reports live here: a fresh checkout has none yet.
STATE_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    # Only for local runs; a deployment sets its own.
    default="insecure-local-only-7f3c1d0e9b8a4f6e2d1c0b9a8f7e6d5c",
)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "clinic.patients",
    "clinic.images",
    "filemaker_migration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{STATE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Many import workers write at once: WAL lets readers and one writer work
    # together, IMMEDIATE transactions take the write lock up front (so two
    # writers queue on the busy timeout instead of failing with "database is
    # locked" when one upgrades a read lock), and the timeout bounds the wait.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 60,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    if django.VERSION < (5, 1):
        # Django 4.2's SQLite backend has neither option (a connection would
        # fail): the app's backend adds them (filemaker_migration/sqlite3).
        DATABASES["default"]["ENGINE"] = "filemaker_migration.sqlite3"
    # Tests run import workers in threads: an in-memory shared-cache database
    # would use table locks that ignore the busy timeout, so tests use a file
    # (one per test process, so that two test runs never share one).
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(
        STATE_DIR / f"test-db-{os.getpid()}.sqlite3"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-au"
TIME_ZONE = env.str("TIME_ZONE", default="Australia/Sydney")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = STATE_DIR / "static"

LOGIN_URL = "admin:login"

# --- The migration's target: the clinic models it writes ---------------------
# This project is the reference clinic; see docs/own-project.md ("Using it in your own
# Django project") for the configurable target an existing app uses instead.
FILEMAKER_MIGRATION_TARGET = {"BACKEND": "clinic.images.target.ReferenceTarget"}
# The suite's only way to name the clinic's models (tests/clinic_rows.py).
TEST_CLINIC_MODELS = {
    "patient": "patients.Patient",
    "batch": "images.ImageBatch",
    "image": "images.Image",
}

# --- FileMaker Data API (the source) -------------------------------------------
FILEMAKER = {
    "URL": env.str("FM_URL", default=""),
    "DATABASE": env.str("FM_DATABASE", default=""),
    "ACCOUNT": env.str("FM_ACCOUNT", default=""),
    "PASSWORD": env.str("FM_PASSWORD", default=""),
    "LAYOUT": env.str("FM_LAYOUT", default="API_Images"),
    "CONTACTS_LAYOUT": env.str("FM_CONTACTS_LAYOUT", default="API_Contacts"),
    # A private CA's bundle (PEM). Empty: the system's trusted CAs.
    "CA_BUNDLE": env.str("FM_CA_BUNDLE", default=""),
    "API_VERSION": env.str("FM_API_VERSION", default="vLatest"),
    "CONNECT_TIMEOUT": env.float("FM_CONNECT_TIMEOUT", default=10.0),
    "READ_TIMEOUT": env.float("FM_READ_TIMEOUT", default=60.0),
    "MAX_ATTEMPTS": env.int("FM_MAX_ATTEMPTS", default=5),
    # Field names on the layout, overridable one by one as JSON, e.g.
    # FM_FIELDS='{"date": "Image Date"}'. Keys are listed in docs/configuration.md.
    "FIELDS": env.json("FM_FIELDS", default={}),
    # Megapixels decoded at once by all the import's workers
    # (docs/configuration.md); the default suits a 2 GB machine.
    "DECODE_BUDGET_MEGAPIXELS": env.float("FM_DECODE_BUDGET_MEGAPIXELS", default=128),
    # Data API sessions opened, and requests in flight on each: FileMaker
    # serves one session's requests one at a time (docs/configuration.md).
    "SESSIONS": env.int("FM_SESSIONS", default=1),
    "REQUESTS_PER_SESSION": env.int("FM_REQUESTS_PER_SESSION", default=2),
}

# --- S3 (the destination) ------------------------------------------------------
S3 = {
    "BUCKET": env.str("S3_BUCKET", default=""),
    "ENDPOINT_URL": env.str("S3_ENDPOINT_URL", default=""),
    "REGION": env.str("S3_REGION", default="ap-southeast-2"),
    "ACCESS_KEY_ID": env.str("S3_ACCESS_KEY_ID", default=""),
    "SECRET_ACCESS_KEY": env.str("S3_SECRET_ACCESS_KEY", default=""),
    "KEY_PREFIX": env.str("S3_KEY_PREFIX", default="patients/filemaker-import/images"),
    "SSE": env.str("S3_SSE", default="AES256"),
    "KMS_KEY_ID": env.str("S3_KMS_KEY_ID", default=""),
    "CA_BUNDLE": env.str("S3_CA_BUNDLE", default=""),
    "PRESIGN_SECONDS": env.int("S3_PRESIGN_SECONDS", default=300),
}

# Worker processes of an import: "auto" (one per core this process may use,
# at most 4), or a number; `import_filemaker_images --processes` overrides it.
FILEMAKER_MIGRATION_PROCESSES = env.str("IMPORT_PROCESSES", default="auto")

# Test-only crash injection: "<crash point>:<n>" makes the import SIGKILL
# itself the nth time it passes that point (see filemaker_migration/crashpoints.py).
CRASH_AT = env.str("MIGRATION_CRASH_AT", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        # Never let HTTP libraries log request details (headers carry tokens).
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
