"""Shared by the in-process scheduler tests (tests/integration/test_scheduler_*.py): the test
app's scheduling functions, a fixed clock for every test, the jobs a test deferred, and
small helpers."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.conf import settings
from procrastinate.contrib.django.models import ProcrastinateJob

from reactive import api, clock, ids
from reactive.scheduler.crons import Cron, discover
from reactive.testing import ReactiveClient, reset_clock

TABLE = "_scheduled_functions"
S = api.testapp.scheduling
BUMP_PATH = "testapp/scheduling:bump"
DAY = 86_400_000.0
_names = itertools.count()
# the crons tests/testapp/crons.py declares
EVERY = "bump every second"
DAILY = "daily bump"


@pytest.fixture(autouse=True)
def _clock():
    reset_clock()
    try:
        yield
    finally:
        reset_clock()


@pytest.fixture
def job_baseline() -> int:
    """procrastinate's tables are unmanaged, so not flushed between tests: only jobs with a
    larger id than this belong to the test."""
    last = ProcrastinateJob.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


def unique(prefix: str) -> str:
    """Names for counters and the per-process call counters of the test functions."""
    return f"{prefix}-{next(_names)}-{clock.now_ms():.0f}"


def pk(id: str) -> int:
    value = ids.pk_of(TABLE, id)
    assert value is not None, id
    return value


def new_jobs(baseline: int) -> list[ProcrastinateJob]:
    return list(ProcrastinateJob.objects.filter(id__gt=baseline).order_by("id"))


def count(client: ReactiveClient, name: str) -> int:
    return client.query(S.count, {"name": name})


def doc(client: ReactiveClient, id: str) -> dict:
    return client.query(S.scheduled_one, {"id": id})


def scheduler_settings(**changes: object) -> dict:
    """REACTIVE as tests/settings.py builds it, with SCHEDULER keys changed."""
    reactive = dict(settings.REACTIVE)
    reactive["SCHEDULER"] = {**reactive["SCHEDULER"], **changes}
    return reactive


def cron_by_name(name: str) -> Cron:
    (found,) = [c for c in discover() if c.name == name]
    return found


def next_0330_after(ms: float) -> float:
    """The first 03:30:00 UTC strictly after ``ms``."""
    now = dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.UTC)
    at = now.replace(hour=3, minute=30, second=0, microsecond=0)
    if at <= now:
        at += dt.timedelta(days=1)
    return at.timestamp() * 1000.0
