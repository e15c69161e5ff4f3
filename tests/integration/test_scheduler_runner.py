"""Running one scheduled function (reactive.scheduler.runner): actions at most once,
mutations exactly once, failures and transient retries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import override_settings

from reactive.errors import ConnectionLost
from reactive.models import ScheduledFunction
from reactive.scheduler import runner
from reactive.scheduler.jobs import TransientFailure
from reactive.testing import run_scheduled
from tests import scheduler_support as support
from tests.scheduler_support import BUMP_PATH, S, count, doc, new_jobs, pk, unique

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
_clock = support._clock  # autouse: every test starts and ends on the real clock
job_baseline = support.job_baseline


# -- actions ---------------------------------------------------------------------------------


def test_scheduling_from_an_action(client, job_baseline):
    name = unique("from-action")
    id = client.action(S.schedule_from_action, {"name": name})
    assert doc(client, id)["state"] == {"kind": "pending"}
    assert len(new_jobs(job_baseline)) == 1
    assert run_scheduled() == ["success"]
    assert count(client, name) == 1


def test_a_scheduled_action_runs(client):
    name = unique("action")
    id = client.mutation(S.schedule_fn, {"fn": "slow_action", "args": {"name": name, "seconds": 0}})
    row = ScheduledFunction.objects.get(pk=pk(id))
    assert row.kind == "action"
    assert run_scheduled() == ["success"]
    assert count(client, name) == 1
    d = doc(client, id)
    assert d["state"] == {"kind": "success"} and "completedTime" in d
    assert ScheduledFunction.objects.get(pk=pk(id)).attempts == 1
    assert runner.run(pk(id)) == "already success"
    assert count(client, name) == 1


def test_scheduling_from_an_action_is_not_atomic(client):
    name = unique("not-atomic")
    out = client.call(S.action_schedules, {"name": name, "delay": 0})
    assert out.error is not None
    assert out.error.message == "the action failed after scheduling"
    (row,) = ScheduledFunction.objects.all()
    assert (row.name, row.state) == (BUMP_PATH, "pending")
    assert run_scheduled() == ["success"]
    assert count(client, name) == 1


def test_an_action_found_in_progress_is_failed_not_rerun(client):
    name = unique("crashed")
    id = client.mutation(S.schedule_fn, {"fn": "slow_action", "args": {"name": name, "seconds": 0}})
    ScheduledFunction.objects.filter(pk=pk(id)).update(state="inProgress", attempts=1)
    assert doc(client, id)["state"] == {"kind": "inProgress"}
    assert run_scheduled() == []  # only pending rows are run
    assert runner.run(pk(id)) == "failed: the worker running it died"
    d = doc(client, id)
    assert d["state"] == {"kind": "failed", "error": runner.WORKER_DIED}
    assert "worker" in d["state"]["error"] and "stopped" in d["state"]["error"]
    assert "completedTime" in d
    assert count(client, name) == 0
    assert runner.run(pk(id)) == "already failed"
    assert count(client, name) == 0


def test_a_failing_action_ends_failed(client):
    name = unique("action-fails")
    id = client.mutation(
        S.schedule_fn, {"fn": "action_schedules", "args": {"name": name, "delay": 0}}
    )
    error = "Uncaught ConvexError: the action failed after scheduling"
    assert run_scheduled() == [f"failed: {error}", "success"]
    assert doc(client, id)["state"] == {"kind": "failed", "error": error}
    (child,) = ScheduledFunction.objects.filter(origin_id=pk(id))
    assert child.state == "success"  # an action's scheduling is not undone by its failure
    assert count(client, name) == 1


# -- failures --------------------------------------------------------------------------------


def test_a_mutation_raising_convex_error_ends_failed(client):
    name = unique("broken")
    id = client.mutation(S.schedule_fn, {"fn": "broken", "args": {"name": name}})
    error = f'Uncaught ConvexError: {{"name": "{name}", "why": "broken"}}'
    assert run_scheduled() == [f"failed: {error}"]
    d = doc(client, id)
    assert d["state"] == {"kind": "failed", "error": error}
    assert "completedTime" in d
    assert ScheduledFunction.objects.get(pk=pk(id)).attempts == 1
    assert run_scheduled() == []


def test_transient_failures_are_retried_and_run_once(client):
    name = unique("flaky")
    id = client.mutation(S.schedule_fn, {"fn": "flaky_bump", "args": {"name": name, "failures": 2}})
    for attempt in (1, 2):
        with pytest.raises(TransientFailure, match="testapp/scheduling:flaky_bump"):
            runner.run(pk(id), attempt=attempt, last_attempt=False)
        assert doc(client, id)["state"] == {"kind": "pending"}
        assert count(client, name) == 0
    assert runner.run(pk(id), attempt=3, last_attempt=False) == "success"
    assert count(client, name) == 1
    assert doc(client, id)["state"] == {"kind": "success"}
    assert ScheduledFunction.objects.get(pk=pk(id)).attempts == 3
    assert runner.run(pk(id), attempt=4, last_attempt=False) == "already success"
    assert count(client, name) == 1


def test_a_conflict_on_the_last_attempt_ends_failed(client):
    name = unique("conflicts")
    id = client.mutation(S.schedule_fn, {"fn": "always_conflicts", "args": {"name": name}})
    with override_settings(REACTIVE={"RETRY": {"max_attempts": 2, "max_backoff_ms": 1}}):
        with pytest.raises(TransientFailure, match="write conflict") as raised:
            runner.run(pk(id), attempt=1, last_attempt=False)
        assert not isinstance(raised.value, ConnectionLost)
        what = runner.run(pk(id), attempt=2, last_attempt=True)
    assert what.startswith("failed: testapp/scheduling:always_conflicts: write conflict"), what
    d = doc(client, id)
    assert d["state"]["kind"] == "failed" and "write conflict" in d["state"]["error"]
    assert ScheduledFunction.objects.get(pk=pk(id)).attempts == 2
    assert count(client, name) == 0
    assert run_scheduled() == []


def test_a_lost_connection_is_retried_past_the_last_attempt(client):
    # An outage is nobody's failure: the try that would have been the last is retried too,
    # and the strategy keeps retrying it (after mutation_attempts tries, up to the max backoff).
    name = unique("flaky-last")
    id = client.mutation(S.schedule_fn, {"fn": "flaky_bump", "args": {"name": name, "failures": 3}})
    for attempt, last in ((1, False), (2, True), (3, True)):
        with pytest.raises(ConnectionLost):
            runner.run(pk(id), attempt=attempt, last_attempt=last)
        assert doc(client, id)["state"] == {"kind": "pending"}
    job = SimpleNamespace(attempts=50)
    decision = runner._Backoff().get_retry_decision(exception=ConnectionLost("x"), job=job)
    assert decision is not None and decision.retry_at is not None
    assert runner._Backoff().get_retry_decision(exception=TransientFailure("x"), job=job) is None
    assert runner.run(pk(id), attempt=4, last_attempt=True) == "success"
    assert count(client, name) == 1


def test_a_deleted_row_is_gone():
    assert runner.run(987_654_321) == "gone"
