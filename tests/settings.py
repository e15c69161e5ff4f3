"""Settings for the test suite (the demo project has its own)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reactive.contrib.embedded_postgres import database_config

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "tests-only-secret-key"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "channels",
    "pgtrigger",
    "procrastinate.contrib.django",
    "reactive",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tests.middleware.mark_http_actions",
]

ROOT_URLCONF = "tests.urls"
ASGI_APPLICATION = "tests.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Servers started by the tests keep persistent connections (one per worker thread, as in
# production); the test process does not, since its short-lived threads would leak them.
_server = bool(os.environ.get("REACTIVE_LIVE_DB_NAME"))
DATABASES = {"default": database_config(BASE_DIR / ".pgdata", conn_max_age=60 if _server else 0)}
# With persistent connections, Django checks a reused connection before each request's first
# query (Channels' database thread included): a connection killed under the server is replaced
# instead of failing the next WebSocket handshake with HTTP 500 (docs/deployment.md).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = _server
# One test database per test run, so that concurrent runs on one Postgres do not collide.
DATABASES["default"]["TEST"] = {"NAME": f"test_reactive_{os.getpid()}"}
# A live server started by the tests points at the test database pytest-django created.
if os.environ.get("REACTIVE_LIVE_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["REACTIVE_LIVE_DB_NAME"]
    # fault tests terminate exactly the servers' connections by this name; a test that counts
    # one server's connections gives it a name of its own
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ.get(
        "REACTIVE_TEST_APPLICATION_NAME", "reactive-test-server"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Servers started by the tests may share a Channels layer that crosses processes (channels_redis).
if os.environ.get("REACTIVE_TEST_CHANNEL_LAYERS"):
    CHANNEL_LAYERS = json.loads(os.environ["REACTIVE_TEST_CHANNEL_LAYERS"])

REACTIVE: dict[str, Any] = {
    "MAX_REQUEST_BYTES": 1024 * 1024,
    "SYNC": {"max_frame_bytes": 1024 * 1024, "max_queries_per_socket": 64},
}
# Servers started by the tests may tune the sync engine (e.g. a short Ping interval).
if os.environ.get("REACTIVE_TEST_SYNC"):
    REACTIVE["SYNC"].update(json.loads(os.environ["REACTIVE_TEST_SYNC"]))
# Commands started by the tests may lay functions out as a Convex project (test_convex_layout.py).
if os.environ.get("REACTIVE_TEST_FUNCTIONS_ROOT"):
    REACTIVE["FUNCTIONS_ROOT"] = os.environ["REACTIVE_TEST_FUNCTIONS_ROOT"]
# Servers started by the tests may accept JWTs from test issuers (test_http_auth.py).
if os.environ.get("REACTIVE_TEST_AUTH"):
    REACTIVE["AUTH"] = json.loads(os.environ["REACTIVE_TEST_AUTH"])
# Workers started by the tests notice dead workers and retry within a second or two.
REACTIVE["SCHEDULER"] = {
    "heartbeat_seconds": 0.5,
    "stalled_seconds": 2.0,
    "retry_base_seconds": 0.1,
    "retry_max_seconds": 1.0,
}
# The admin's activity figures: servers started by the tests write them often; the test
# process only when a test asks (no thread writing to a test database being dropped).
REACTIVE["OBSERVE"] = {"flush_seconds": 0.5 if _server else 0.0}
if os.environ.get("REACTIVE_TEST_SCHEDULER"):
    REACTIVE["SCHEDULER"].update(json.loads(os.environ["REACTIVE_TEST_SCHEDULER"]))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"reactive": {"handlers": ["console"], "level": "WARNING"}},
}
# File storage (reactive.storage) keeps files under MEDIA_ROOT: a directory of this test run,
# shared with the live servers it starts (they inherit the environment), so tests can count
# the files the storage holds.
if not os.environ.get("REACTIVE_TEST_MEDIA_ROOT"):
    os.environ["REACTIVE_TEST_MEDIA_ROOT"] = str(BASE_DIR / ".test-media" / f"run-{os.getpid()}")
MEDIA_ROOT = os.environ["REACTIVE_TEST_MEDIA_ROOT"]
# Servers started by the tests may tune file storage (e.g. a small size limit).
if os.environ.get("REACTIVE_TEST_STORAGE"):
    REACTIVE["STORAGE"] = json.loads(os.environ["REACTIVE_TEST_STORAGE"])
