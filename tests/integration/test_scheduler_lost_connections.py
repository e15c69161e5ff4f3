"""The worker's own procrastinate queries losing their connection, with a real worker process.

A database restart kills every connection at once, and some die in the middle of one of
procrastinate's queries. These tests kill just that query's connection (pg_terminate_backend
while the query waits for a lock the test holds), so the fault lands where a restart would put
it, every time: in the query recording that a job failed and is to be retried, and in the query
taking the next job. Each scheduled mutation must still run exactly once, and the worker must
live on (tests/reliability/test_faults.py restarts Postgres itself, on a private cluster).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from reactive import api
from reactive.ids import pk_of
from reactive.models import ScheduledFunction
from reactive.sync.wakeups import conninfo
from reactive.testing import ReactiveClient
from tests.worker import Worker, start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

S = api.testapp.scheduling
_sleeps = itertools.count(1)


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_")
    started = start_worker(name, tmp_path)
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.terminate()


def state(sid: str) -> str:
    return ScheduledFunction.objects.get(pk=pk_of("_scheduled_functions", sid)).state


def backend(admin: Any, query_like: str) -> int | None:
    """The pid of another session of this database running a query like ``query_like``."""
    found = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND query LIKE %s",
        [query_like],
    ).fetchone()
    return found[0] if found else None


def terminate_while_locked(admin: Any, query_like: str, worker: Worker) -> None:
    """Hold procrastinate's jobs table until the worker's query like ``query_like`` waits for
    it, then terminate that query's connection."""
    with psycopg.connect(autocommit=False, **conninfo("default")) as locker:
        locker.execute("LOCK TABLE procrastinate_jobs IN ACCESS EXCLUSIVE MODE")
        pid = wait_for(
            lambda: backend(admin, query_like), f"a query like {query_like!r}", 10, worker=worker
        )
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        locker.rollback()


def test_a_job_whose_retry_was_lost_with_its_connection_runs_again(worker: Worker) -> None:
    """The mutation's connection dies (a transient failure, to be retried); so does the
    connection of the query recording the retry. The job is left ``doing`` under a worker that
    is alive: recovery must find it and queue it again, and the mutation runs once."""
    client, name = ReactiveClient(), f"lost-{uuid.uuid4().hex[:8]}"
    # under the tests' 1 s function limit; a pg_sleep no other test runs
    seconds = round(0.9 + next(_sleeps) / 10_000, 4)
    sid = client.mutation(
        S.schedule_internal,
        {"fn": "bump_then_sleep", "args": {"name": name, "seconds": seconds}},
    )
    with psycopg.connect(autocommit=True, **conninfo("default")) as admin:
        sleeper = wait_for(
            lambda: backend(admin, f"SELECT pg_sleep({seconds})%"),
            "the mutation",
            10,
            worker=worker,
        )
        with psycopg.connect(autocommit=False, **conninfo("default")) as locker:
            locker.execute("LOCK TABLE procrastinate_jobs IN ACCESS EXCLUSIVE MODE")
            admin.execute("SELECT pg_terminate_backend(%s)", [sleeper])
            recorder = wait_for(
                lambda: backend(admin, "%procrastinate_retry_job%"), "the retry", 10, worker=worker
            )
            admin.execute("SELECT pg_terminate_backend(%s)", [recorder])
            locker.rollback()
    assert wait_for(lambda: state(sid) == "success", "the mutation ran again", 20, worker=worker)
    assert client.query(S.count, {"name": name}) == 1
    assert "left running by this worker" in worker.log()
    assert worker.process.poll() is None


def test_the_worker_lives_on_when_taking_a_job_loses_its_connection(worker: Worker) -> None:
    """procrastinate's worker ends when the query taking the next job fails; the process starts
    it again, and scheduled mutations go on running."""
    with psycopg.connect(autocommit=True, **conninfo("default")) as admin:
        terminate_while_locked(admin, "%procrastinate_fetch_job%", worker)
    client, name = ReactiveClient(), f"lost-{uuid.uuid4().hex[:8]}"
    sid = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    assert wait_for(lambda: state(sid) == "success", "the mutation ran", 20, worker=worker)
    assert client.query(S.count, {"name": name}) == 1
    assert "lost its database connection" in worker.log()
    assert worker.process.poll() is None
