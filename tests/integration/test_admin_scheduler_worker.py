"""Pause, resume and run now from the admin, honoured by a real worker process
(`manage.py reactive worker` on the test database, as in test_scheduler_worker.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from reactive import api
from reactive.ids import pk_of
from reactive.models import CronRun, ScheduledFunction
from reactive.testing import ReactiveClient
from tests.worker import start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

S = api.testapp.scheduling
EVERY = "bump every second"  # tests/testapp/crons.py
CRON_URL = "/admin/reactive/cronrun/"
SF_URL = "/admin/reactive/scheduledfunction/"


def _runs() -> Any:
    return ScheduledFunction.objects.filter(cron=EVERY)


def test_a_paused_cron_waits_for_resume_and_run_now_runs_in_the_worker(tmp_path: Path) -> None:
    web = Client()
    web.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    worker = start_worker(connection.settings_dict["NAME"], tmp_path, crons=True)
    try:
        worker.wait_for_log(f"cron {EVERY!r}: added")
        response = web.post(CRON_URL, {"action": "pause", "_selected_action": [EVERY]})
        assert response.status_code == 302
        assert CronRun.objects.get(name=EVERY).paused
        paused = web.get(CRON_URL, {"paused__exact": "1"}).context["cl"].result_list
        assert [c.name for c in paused] == [EVERY]
        wait_for(lambda: not _runs().filter(state="pending").exists(), "runs done", worker=worker)
        fired = _runs().count()
        time.sleep(2.2)  # two periods of the cron: a running one would have fired twice
        assert _runs().count() == fired

        # run now: one run, through the scheduler, run by the worker like any other
        web.post(CRON_URL, {"action": "run_now", "_selected_action": [EVERY]})
        assert _runs().count() == fired + 1
        wait_for(lambda: _runs().filter(state="success").count() == fired + 1, "the run now")
        assert CronRun.objects.get(name=EVERY).paused  # still paused

        web.post(CRON_URL, {"action": "resume", "_selected_action": [EVERY]})
        assert not CronRun.objects.get(name=EVERY).paused
        wait_for(lambda: _runs().count() >= fired + 2, "a run after resume", worker=worker)

        # a pending scheduled function, due in an hour, runs now
        sid = ReactiveClient().mutation(S.schedule_bump, {"name": "later", "delay": 3_600_000})
        pk = pk_of("_scheduled_functions", sid)
        web.post(SF_URL, {"action": "run_now", "_selected_action": [pk]})
        row = ScheduledFunction.objects.get(pk=pk)
        assert row.scheduled_time < time.time() * 1000 + 1000
        wait_for(lambda: ScheduledFunction.objects.get(pk=pk).state == "success", "run now")
        # a finished one is left alone, and says so
        response = web.post(SF_URL, {"action": "run_now", "_selected_action": [pk]}, follow=True)
        assert [str(m) for m in response.context["messages"]][-1].startswith("0 pending")
    finally:
        worker.terminate()
