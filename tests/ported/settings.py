"""Settings of the ported app (tests/ported): tests.ported.portapp's models, and its functions
in the Convex-style package tests.ported.portapp.convex (FUNCTIONS_ROOT).

The database is DATABASE_URL (tests/integration/test_ported_app.py gives it a database of its
own), else the embedded PostgreSQL in ./.pgdata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reactive.contrib.embedded_postgres import database_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SECRET_KEY = "ported-app-tests-only-secret-key"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels",
    "pgtrigger",
    "procrastinate.contrib.django",
    "reactive",
    "tests.ported.portapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.ported.urls"
ASGI_APPLICATION = "tests.ported.asgi.application"

DATABASES = {"default": database_config(BASE_DIR / ".pgdata", conn_max_age=60)}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

REACTIVE: dict[str, Any] = {
    # The port of the Convex project's convex/ folder: convex/messages.py's `list_` is
    # "messages:list", which the front end calls as api.messages.list.
    "FUNCTIONS_ROOT": "tests.ported.portapp.convex",
    # a worker that notices due jobs quickly (the reminder is due a second after `send`)
    "SCHEDULER": {"heartbeat_seconds": 0.5, "stalled_seconds": 2.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"reactive": {"handlers": ["console"], "level": "WARNING"}},
}
