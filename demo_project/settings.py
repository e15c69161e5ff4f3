"""Settings of the demo project (development only: DEBUG is on and the secret key is public).

The database is DATABASE_URL when set, else an embedded PostgreSQL kept in ./.pgdata.
"""

from __future__ import annotations

import os
from pathlib import Path

from reactive.contrib.embedded_postgres import database_config

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "demo-only-insecure-secret-key"
DEBUG = True
# `dev.py demo --host 0.0.0.0` (or an address) sets DEMO_ALLOWED_HOSTS so other machines get in
ALLOWED_HOSTS = os.environ.get("DEMO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "pgtrigger",
    "procrastinate.contrib.django",
    "reactive",
    "demo_project.chat",
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

ROOT_URLCONF = "demo_project.urls"
ASGI_APPLICATION = "demo_project.asgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASES = {"default": database_config(BASE_DIR / ".pgdata", conn_max_age=60)}
# a persistent connection killed under the server is replaced, not a failed request
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

STATIC_URL = "static/"
# Attachments (reactive's file storage, Django's default storage): under ./.demo-media
MEDIA_ROOT = os.environ.get("DEMO_MEDIA_ROOT") or str(BASE_DIR / ".demo-media")
# The chat page's script, static/chat/app.js, is demo_project/web/src bundled with the official
# convex npm client by esbuild (`npm run build` in demo_project/web; `python3 dev.py demo` does it).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# reactive's settings; every key and its default is in docs/settings.md.
REACTIVE = {
    # Each installed app's functions live in this module (or package): chat/functions.py.
    "FUNCTIONS_MODULE": "functions",
    # Refuse network I/O inside queries and mutations (they may be retried); do it in actions.
    # On by default in every mode; False switches the guard off.
    "REFUSE_NETWORK_IN_TRANSACTIONS": True,
    # Per-function limits, merged over the defaults: here, let a query or mutation run for 2 s.
    "LIMITS": {"function_seconds": 2.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"reactive": {"handlers": ["console"], "level": "INFO"}},
}
