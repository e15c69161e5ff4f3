"""The scheduler with a real worker process: runs, clean stops, and worker kills (SIGKILL).

Each test schedules through the executor in this process (committed: the tests are
transactional), runs `manage.py reactive worker` on the same test database, and checks the
rows, the counters the functions bump (one per committed run), and procrastinate's jobs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from reactive import api
from reactive.ids import pk_of
from reactive.models import ScheduledFunction
from reactive.scheduler.runner import WORKER_DIED
from reactive.testing import ReactiveClient
from tests.sync_client import RawSync
from tests.worker import Worker, start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

S = api.testapp.scheduling


def _name() -> str:
    return f"w-{uuid.uuid4().hex[:8]}"


def _db_name() -> str:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_")
    return name


def row(sid: str) -> ScheduledFunction:
    return ScheduledFunction.objects.get(pk=pk_of("_scheduled_functions", sid))


def job_status(job_id: int) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])
        found = cursor.fetchone()
    return found[0] if found else None


@pytest.fixture
def workers(tmp_path: Path) -> Any:
    started: list[Worker] = []

    def start(**kwargs: Any) -> Worker:
        worker = start_worker(_db_name(), tmp_path, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.terminate()


def test_worker_runs_a_run_after_zero_job_and_stops_cleanly(workers: Any) -> None:
    client, name = ReactiveClient(), _name()
    worker = workers()
    sid = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    done = wait_for(lambda: row(sid).state == "success", what="success", worker=worker)
    assert done
    assert client.query(S.count, {"name": name}) == 1
    finished = row(sid)
    assert finished.attempts == 1 and finished.completed_time >= finished.scheduled_time
    assert job_status(finished.job_id) is None  # successful jobs are deleted
    assert "testapp/scheduling:bump (row" in worker.log()
    assert worker.terminate() == 0
    assert "worker stopped" in worker.log()


def test_delayed_job_waits_for_its_time(workers: Any) -> None:
    client, name = ReactiveClient(), _name()
    worker = workers()
    sid = client.mutation(S.schedule_bump, {"name": name, "delay": 1500})
    time.sleep(0.8)
    assert row(sid).state == "pending"
    wait_for(lambda: row(sid).state == "success", what="success", worker=worker)
    finished = row(sid)
    assert finished.completed_time >= finished.scheduled_time


def _backend_sleeping() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s "
            "AND application_name = 'reactive-test-server' AND state = 'active'",
            ["SELECT pg_sleep%"],
        )
        return bool(cursor.fetchone()[0])


def test_worker_killed_mid_mutation_runs_it_exactly_once(workers: Any) -> None:
    client, name = ReactiveClient(), _name()
    first = workers(name="doomed")
    sid = client.mutation(
        S.schedule_internal, {"fn": "bump_then_sleep", "args": {"name": name, "seconds": 0.6}}
    )
    wait_for(_backend_sleeping, what="the mutation holding its transaction", worker=first)
    first.kill9()
    assert row(sid).state == "pending"  # the transaction died with the worker
    assert client.query(S.count, {"name": name}) == 0
    second = workers(name="rescuer")
    wait_for(lambda: row(sid).state == "success", what="success after recovery", worker=second)
    assert client.query(S.count, {"name": name}) == 1
    assert "left running by a worker that stopped" in second.log()


def test_worker_killed_right_after_commit_does_not_run_it_again(workers: Any) -> None:
    client, name = ReactiveClient(), _name()
    doomed = workers(
        name="doomed", env_extra={"REACTIVE_TEST_CRASH_AFTER_COMMIT": "testapp/scheduling:bump"}
    )
    sid = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    doomed.process.wait(timeout=20)
    assert doomed.process.returncode == -9
    doomed._log.close()
    committed = row(sid)
    assert committed.state == "success" and client.query(S.count, {"name": name}) == 1
    assert job_status(committed.job_id) == "doing"  # procrastinate never heard it finished
    second = workers(name="rescuer")
    wait_for(lambda: job_status(committed.job_id) != "doing", what="job recovered", worker=second)
    second.wait_for_log("already success")
    assert client.query(S.count, {"name": name}) == 1
    assert row(sid).attempts == 1


def test_worker_killed_mid_action_leaves_it_failed_not_rerun(workers: Any, tmp_path: Path) -> None:
    client, name = ReactiveClient(), _name()
    markers = tmp_path / "markers"
    markers.mkdir()
    doomed = workers(name="doomed", env_extra={"REACTIVE_TEST_MARKER_DIR": str(markers)})
    sid = client.mutation(S.schedule_action, {"name": name, "seconds": 30})
    wait_for(lambda: (markers / f"{name}.started").exists(), what="action started", worker=doomed)
    assert row(sid).state == "inProgress"
    doomed.kill9()
    second = workers(name="rescuer", env_extra={"REACTIVE_TEST_MARKER_DIR": str(markers)})
    wait_for(lambda: row(sid).state == "failed", what="failed", worker=second)
    assert row(sid).error == WORKER_DIED
    assert client.query(S.count, {"name": name}) == 1  # the action started once, only
    time.sleep(0.5)
    assert client.query(S.count, {"name": name}) == 1


def test_transient_failures_are_retried_with_backoff(workers: Any) -> None:
    client, name = ReactiveClient(), _name()
    worker = workers()
    sid = client.mutation(
        S.schedule_internal, {"fn": "flaky_bump", "args": {"name": name, "failures": 2}}
    )
    wait_for(lambda: row(sid).state == "success", what="success", worker=worker)
    assert row(sid).attempts == 3
    assert client.query(S.count, {"name": name}) == 1


def test_function_errors_fail_without_retry(workers: Any) -> None:
    client, name = ReactiveClient(), _name()
    worker = workers()
    sid = client.mutation(S.schedule_internal, {"fn": "broken", "args": {"name": name}})
    wait_for(lambda: row(sid).state == "failed", what="failed", worker=worker)
    failed = row(sid)
    assert failed.attempts == 1 and "broken" in failed.error


def test_two_workers_share_jobs_and_run_each_once(workers: Any) -> None:
    client, name = ReactiveClient(), _name()
    workers(name="a")
    workers(name="b")
    n = 40
    client.mutation(S.schedule_many, {"name": name, "n": n})

    def states() -> dict[str, int]:
        found: dict[str, int] = {}
        for state in ScheduledFunction.objects.filter(args__0__name=name).values_list(
            "state", flat=True
        ):
            found[state] = found.get(state, 0) + 1
        return found

    try:
        wait_for(lambda: client.query(S.count, {"name": name}) == n, what=f"{n} runs")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; states {states()}") from None
    time.sleep(0.3)
    assert client.query(S.count, {"name": name}) == n
    assert ScheduledFunction.objects.filter(state="success", args__0__name=name).count() == n


def test_crons_run_in_the_worker(workers: Any) -> None:
    client = ReactiveClient()
    worker = workers(crons=True)
    worker.wait_for_log("cron 'bump every second': added")
    wait_for(
        lambda: client.query(S.count, {"name": "cron:every-second"}) >= 2,
        what="two cron runs",
        worker=worker,
        timeout=10,
    )
    runs = ScheduledFunction.objects.filter(cron="bump every second")
    assert runs.count() >= 2 and not runs.exclude(state__in=("success", "pending")).exists()


def test_scheduled_functions_are_reactive_over_the_websocket(
    asgi_server: Any, workers: Any
) -> None:
    name = _name()
    workers()

    async def scenario() -> None:
        sync = await RawSync.connect(asgi_server.ws_url)
        try:
            qid = await sync.subscribe(
                "testapp/scheduling:scheduled", {"name": "testapp/scheduling:bump"}
            )
            before = len(sync.results[qid])
            response = requests.post(
                asgi_server.url + "/api/mutation",
                json={
                    "path": "testapp/scheduling:schedule_bump",
                    "args": {"name": name, "delay": 300},
                    "format": "json",
                },
                timeout=10,
            )
            assert response.json()["status"] == "success"
            sid = response.json()["value"]

            def state() -> str | None:
                docs = {d["_id"]: d for d in sync.results.get(qid, [])}
                return docs[sid]["state"]["kind"] if sid in docs else None

            await sync.until(lambda: state() == "pending")
            assert len(sync.results[qid]) == before + 1
            await sync.until(lambda: state() == "success", timeout=15)
        finally:
            await sync.close()

    asyncio.run(scenario())
