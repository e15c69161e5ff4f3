"""The scheduler in-process: ctx.scheduler, the runner, the system table, crons and the admin."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest
from django.conf import settings
from django.test import override_settings
from procrastinate.contrib.django.models import ProcrastinateJob

from reactive import api, clock, ids, internal
from reactive.errors import (
    ConfigurationError,
    InvalidId,
    NotAllowedHere,
    QueryError,
    SchedulerError,
)
from reactive.models import CronRun, ScheduledFunction
from reactive.scheduler import cron_table, runner
from reactive.scheduler.crons import Cron, Every, discover
from reactive.scheduler.jobs import TASK_NAME, TransientFailure
from reactive.scheduler.schedule import cancel_tree
from reactive.testing import (
    ReactiveClient,
    advance_time,
    reset_clock,
    run_crons,
    run_scheduled,
)
from tests.helpers import in_mutation

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "_scheduled_functions"
S = api.testapp.scheduling
BUMP_PATH = "testapp/scheduling:bump"
DAY = 86_400_000.0
_names = itertools.count()


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


# -- run_after, the row and its job ----------------------------------------------------------

def test_run_after_schedules_a_pending_row_and_a_job(client, job_baseline):
    name = unique("shape")
    before = clock.now_ms()
    id = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    after = clock.now_ms()

    d = doc(client, id)
    assert set(d) == {"_id", "_creationTime", "name", "args", "scheduledTime", "state"}
    assert d["_id"] == id
    assert d["name"] == BUMP_PATH
    assert d["args"] == [{"name": name}]
    assert d["state"] == {"kind": "pending"}
    assert before <= d["scheduledTime"] <= d["_creationTime"] <= after

    row = ScheduledFunction.objects.get(pk=pk(id))
    assert (row.kind, row.state, row.attempts, row.cron, row.origin_id) == (
        "mutation", "pending", 0, "", None)
    (job,) = new_jobs(job_baseline)
    assert row.job_id == job.id
    assert job.status == "todo"
    assert job.queue_name == "reactive"
    assert job.task_name == TASK_NAME
    assert job.args == {"id": row.pk, "using": "default"}
    assert abs(job.scheduled_at.timestamp() * 1000.0 - d["scheduledTime"]) < 1.0

    assert count(client, name) == 0
    started = clock.now_ms()
    assert run_scheduled() == ["success"]
    finished = clock.now_ms()
    assert count(client, name) == 1
    d = doc(client, id)
    assert d["state"] == {"kind": "success"}
    assert started <= d["completedTime"] <= finished
    assert ScheduledFunction.objects.get(pk=pk(id)).attempts == 1

    # running again does nothing
    assert run_scheduled() == []
    assert runner.run(pk(id)) == "already success"
    assert count(client, name) == 1
    assert doc(client, id)["completedTime"] == d["completedTime"]


def test_delay_and_run_at(client):
    name = unique("delay")
    before = clock.now_ms()
    later = client.mutation(S.schedule_bump, {"name": name, "delay": 60_000})
    after = clock.now_ms()
    assert before + 60_000 <= doc(client, later)["scheduledTime"] <= after + 60_000
    at = float(int(clock.now_ms()) + 120_000)
    at_id = client.mutation(S.schedule_at, {"name": name, "at": at})
    assert doc(client, at_id)["scheduledTime"] == at

    assert run_scheduled() == []  # neither is due
    clock.advance(60_000)
    assert run_scheduled() == ["success"]
    assert doc(client, later)["state"] == {"kind": "success"}
    assert doc(client, at_id)["state"] == {"kind": "pending"}
    clock.advance(60_000)
    assert run_scheduled() == ["success"]
    assert count(client, name) == 2


def test_run_at_in_the_past_runs_at_once_and_datetimes(client):
    name = unique("past")
    id = client.mutation(S.schedule_at, {"name": name, "at": 1e12})  # 2001
    assert doc(client, id)["scheduledTime"] == 1e12
    assert run_scheduled() == ["success"]
    assert count(client, name) == 1

    when = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    out = in_mutation(lambda ctx: ctx.scheduler.run_at(
        when, internal.testapp.scheduling.bump, {"name": name}))
    assert doc(client, out.unwrap())["scheduledTime"] == when.timestamp() * 1000.0
    out = in_mutation(lambda ctx: ctx.scheduler.run_at(
        dt.datetime(2031, 5, 6), internal.testapp.scheduling.bump, {"name": name}))
    assert isinstance(out.error, SchedulerError)
    assert "run_at needs a timezone-aware datetime" in out.error.message
    assert ScheduledFunction.objects.count() == 2


def test_a_mutation_that_raises_schedules_nothing(client, job_baseline):
    name = unique("raises")
    out = client.call(S.schedule_bump, {"name": name, "fail": True})
    assert out.error is not None and out.error.message == "failed after scheduling"
    assert ScheduledFunction.objects.count() == 0
    assert new_jobs(job_baseline) == []
    assert run_scheduled() == []
    assert count(client, name) == 0


def test_a_retried_mutation_schedules_once(client, job_baseline):
    name = unique("retried")
    out = client.call(S.schedule_then_conflict, {"name": name})
    assert out.error is None, out.error
    assert out.attempts == 2
    (row,) = ScheduledFunction.objects.all()
    assert ids.encode_id(TABLE, row.pk) == out.value
    (job,) = new_jobs(job_baseline)
    assert job.id == row.job_id and job.args == {"id": row.pk, "using": "default"}
    assert run_scheduled() == ["success"]
    assert count(client, name) == 1


def test_a_retry_starts_a_fresh_per_call_tally(client):
    # the limit counts what one attempt schedules: the failed attempt's call is not counted
    name = unique("tally")
    with override_settings(REACTIVE=scheduler_settings(max_scheduled_per_function=1)):
        out = client.call(S.schedule_then_conflict, {"name": name})
    assert out.error is None, out.error
    assert out.attempts == 2
    assert ScheduledFunction.objects.count() == 1



def test_a_nested_mutation_that_raises_takes_its_schedule_with_it(client, job_baseline):
    """ctx.run_mutation runs in a savepoint: a nested mutation that schedules and then raises
    (caught by the caller) leaves no row and no job; the caller's own schedule commits."""
    name = unique("nested")

    def body(ctx):
        try:
            ctx.run_mutation(S.schedule_bump, {"name": name, "fail": True})
        except Exception as exc:  # the nested ConvexError
            assert str(exc) == "failed after scheduling"
        return ctx.run_mutation(S.schedule_bump, {"name": name})

    kept = in_mutation(body).unwrap()
    (row,) = ScheduledFunction.objects.all()
    assert ids.encode_id(TABLE, row.pk) == kept
    assert [j.id for j in new_jobs(job_baseline)] == [row.job_id]
    assert run_scheduled() == ["success"]
    assert count(client, name) == 1


def test_schedule_and_cancel_in_one_mutation(client, job_baseline):
    name = unique("same-txn")
    bump = internal.testapp.scheduling.bump

    def body(ctx):
        id = ctx.scheduler.run_after(0, bump, {"name": name})
        ctx.scheduler.cancel(id)
        return id

    id = in_mutation(body).unwrap()
    assert doc(client, id)["state"] == {"kind": "canceled"}
    (job,) = new_jobs(job_baseline)
    assert job.status == "cancelled"
    assert run_scheduled() == []
    assert count(client, name) == 0


def test_a_caught_cancel_error_does_not_undo_the_mutation(client):
    """ctx.scheduler.cancel of an unknown id raises SchedulerError; a mutation that catches it
    must carry on as with any other caught FunctionError: its writes before and after the
    call commit (a refused call schedules, and undoes, nothing)."""
    name = unique("caught")
    unknown = ids.encode_id(TABLE, 987_654_321)

    def body(ctx):
        ctx.db.insert("counters", {"name": name + ":before", "value": 1})
        try:
            ctx.scheduler.cancel(unknown)
        except SchedulerError as exc:
            caught = exc.message
        ctx.db.insert("counters", {"name": name + ":after", "value": 1})
        return caught

    out = in_mutation(body)
    assert out.error is None, out.error
    assert out.value.endswith(f"cancel: no scheduled function {unknown}")
    assert count(client, name + ":before") == 1
    assert count(client, name + ":after") == 1



def test_a_caught_cancel_error_does_not_silently_roll_back(client):
    """As above, with no write after the caught error: the mutation reports success, so its
    write must have committed."""
    name = unique("silent")

    def body(ctx):
        ctx.db.insert("counters", {"name": name, "value": 5})
        try:
            ctx.scheduler.cancel(ids.encode_id(TABLE, 987_654_321))
        except SchedulerError:
            return "caught"
        return "not raised"

    out = in_mutation(body)
    assert (out.error, out.value) == (None, "caught")
    assert count(client, name) == 5


# -- bad calls -------------------------------------------------------------------------------

SCHEDULE_REF = "testapp/scheduling:schedule_ref"
TOO_FAR = (5 * 365 + 1) * DAY


@pytest.mark.parametrize("fn, args, error, message", [
    (S.schedule_ref, {"what": "unknown"}, SchedulerError,
     f"{SCHEDULE_REF}: cannot schedule internal.testapp.scheduling.nope: Could not find "
     "function for 'testapp/scheduling:nope'"),
    (S.schedule_ref, {"what": "string"}, SchedulerError,
     f"{SCHEDULE_REF}: schedule a function by reference (api.x.y or internal.x.y), not str "
     "'testapp/scheduling:bump'"),
    (S.schedule_ref, {"what": "callable"}, SchedulerError,
     f"{SCHEDULE_REF}: schedule a function by reference (api.x.y or internal.x.y), not "),
    (S.schedule_ref, {"what": "query"}, SchedulerError,
     f"{SCHEDULE_REF}: cannot schedule testapp/scheduling:count: it is a query; schedule a "
     "mutation or an action"),
    (S.schedule_ref, {"what": "module"}, SchedulerError,
     f"{SCHEDULE_REF}: cannot schedule internal.testapp: internal.testapp names a module, "
     "not a function"),
    (S.schedule_ref, {"what": "public_bump"}, SchedulerError,
     f"{SCHEDULE_REF}: cannot schedule api.testapp.scheduling.bump: testapp/scheduling:bump "
     "is internal: refer to it as internal.testapp.scheduling.bump"),
    (S.schedule_ref, {"what": "bump", "args": {"name": 1}}, SchedulerError,
     f"{SCHEDULE_REF}: run_after testapp/scheduling:bump: ArgumentValidationError in "
     "testapp/scheduling:bump: `name`: "),
    (S.schedule_ref, {"what": "bump", "args": {"name": "x", "extra": 1}}, SchedulerError,
     "Object contains extra field `extra` that is not in the validator."),
    (S.schedule_ref, {"what": "bump", "args": {}}, SchedulerError,
     "Object is missing the required field `name`."),
    (S.schedule_ref, {"what": "bump", "args": ["x"]}, SchedulerError,
     "the arguments must be an object, not list"),
    (S.schedule_ref, {"what": "bump", "delay": -1}, SchedulerError,
     f"{SCHEDULE_REF}: run_after delay_ms must be >= 0, got -1"),
    (S.schedule_ref, {"what": "bump", "delay": math.nan}, SchedulerError,
     f"{SCHEDULE_REF}: run_after delay_ms must be finite, got nan"),
    (S.schedule_ref, {"what": "bump", "delay": math.inf}, SchedulerError,
     f"{SCHEDULE_REF}: run_after delay_ms must be finite, got inf"),
    (S.schedule_ref, {"what": "bump", "delay": True}, SchedulerError,
     f"{SCHEDULE_REF}: run_after delay_ms must be a number of milliseconds, not bool"),
    (S.schedule_ref, {"what": "bump", "delay": "5"}, SchedulerError,
     f"{SCHEDULE_REF}: run_after delay_ms must be a number of milliseconds, not str"),
    (S.schedule_ref, {"what": "bump", "delay": TOO_FAR}, SchedulerError,
     f"{SCHEDULE_REF}: run_after is more than 1825 days away (1826 days)"),
    (S.schedule_at, {"name": "x", "at": 1_700_000_000.0}, SchedulerError,
     "testapp/scheduling:schedule_at: run_at timestamp 1.7e+09 is before 1973: it must be in "
     "milliseconds since the epoch (not seconds)"),
    (S.schedule_at, {"name": "x", "at": math.nan}, SchedulerError,
     "testapp/scheduling:schedule_at: run_at timestamp must be finite, got nan"),
    (S.schedule_at, {"name": "x", "at": 1e15}, SchedulerError,
     "testapp/scheduling:schedule_at: run_at is more than 1825 days away"),
    (S.cancel, {"id": ids.encode_id(TABLE, 987_654_321)}, SchedulerError,
     "testapp/scheduling:cancel: cancel: no scheduled function "
     f"{ids.encode_id(TABLE, 987_654_321)}"),
    (S.cancel, {"id": ids.encode_id("counters", 1)}, InvalidId,
     "testapp/scheduling:cancel: cancel expects an id of _scheduled_functions, got "
     f"{ids.encode_id('counters', 1)!r}"),
    (S.cancel, {"id": "not-an-id"}, InvalidId,
     "testapp/scheduling:cancel: cancel expects an id of _scheduled_functions, got "
     "'not-an-id'"),
])
def test_bad_calls_are_clear_errors_and_schedule_nothing(client, job_baseline, fn, args,
                                                         error, message):
    out = client.call(fn, args)
    assert type(out.error) is error, out.error
    assert message in out.error.message
    assert ScheduledFunction.objects.count() == 0
    assert new_jobs(job_baseline) == []


def test_refused_calls_write_nothing_even_when_the_error_is_caught(client, job_baseline):
    """The checks come before any write: a mutation that catches the error and commits has
    scheduled nothing."""
    bump = internal.testapp.scheduling.bump

    def body(ctx):
        refused = []
        for call in (
            lambda: ctx.scheduler.run_after(0, internal.testapp.scheduling.nope, {}),
            lambda: ctx.scheduler.run_after(0, bump, {"name": 1}),
            lambda: ctx.scheduler.run_after(-5, bump, {"name": "x"}),
            lambda: ctx.scheduler.run_after(TOO_FAR, bump, {"name": "x"}),
            lambda: ctx.scheduler.run_at(1_700_000_000, bump, {"name": "x"}),
            lambda: ctx.scheduler.run_after(0, bump, {"name": "x" * 200}),
        ):
            try:
                call()
            except SchedulerError as exc:
                refused.append(exc.message)
        return refused

    with override_settings(REACTIVE=scheduler_settings(max_args_bytes=100)):
        out = in_mutation(body)
    refused = out.unwrap()
    assert len(refused) == 6
    assert "arguments are too large" in refused[-1]
    assert ScheduledFunction.objects.count() == 0
    assert new_jobs(job_baseline) == []


def test_too_many_scheduled_in_one_call(client, job_baseline):
    name = unique("many")
    with override_settings(REACTIVE=scheduler_settings(max_scheduled_per_function=3)):
        assert client.mutation(S.schedule_many, {"name": name, "n": 3}) == 3
        out = client.call(S.schedule_many, {"name": name, "n": 4})
    assert isinstance(out.error, SchedulerError)
    assert out.error.message == ("testapp/scheduling:schedule_many: too many scheduled "
                                 "functions in one call (limit 3)")
    assert ScheduledFunction.objects.count() == 3  # the first call's only
    assert len(new_jobs(job_baseline)) == 3
    assert run_scheduled() == ["success"] * 3
    assert count(client, name) == 3



def test_total_scheduled_argument_bytes_in_one_call(client, job_baseline):
    name = unique("total") + "-" + "n" * 40
    with override_settings(REACTIVE=scheduler_settings(max_total_args_bytes=120)):
        assert client.mutation(S.schedule_many, {"name": name, "n": 1}) == 1
        out = client.call(S.schedule_many, {"name": name, "n": 5})
    assert isinstance(out.error, SchedulerError)
    assert out.error.message == ("testapp/scheduling:schedule_many: scheduled arguments total "
                                 "more than 120 bytes in one call")
    assert ScheduledFunction.objects.count() == 1
    assert len(new_jobs(job_baseline)) == 1


def test_a_query_cannot_schedule(client):
    out = client.call(S.query_schedules)
    assert isinstance(out.error, NotAllowedHere)
    assert out.error.message == ("testapp/scheduling:query_schedules: ctx.scheduler is not "
                                 "available in a query; schedule from a mutation or an action")
    assert ScheduledFunction.objects.count() == 0


# -- cancel ----------------------------------------------------------------------------------

def test_cancel_a_pending_function(client, job_baseline):
    name = unique("cancel")
    id = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    before = clock.now_ms()
    client.mutation(S.cancel, {"id": id})
    after = clock.now_ms()
    d = doc(client, id)
    assert d["state"] == {"kind": "canceled"}
    assert before <= d["completedTime"] <= after
    (job,) = new_jobs(job_baseline)
    assert job.status == "cancelled"

    assert run_scheduled() == []
    assert runner.run(pk(id)) == "already canceled"
    assert count(client, name) == 0
    client.mutation(S.cancel, {"id": id})  # again: nothing changes
    assert doc(client, id) == d


def test_cancel_a_finished_function_does_nothing(client):
    name = unique("finished")
    ok = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    failed = client.mutation(S.schedule_fn, {"fn": "broken", "args": {"name": name}})
    assert sorted(run_scheduled()) == sorted(
        ["success", f'failed: Uncaught ConvexError: {{"name": "{name}", "why": "broken"}}'])
    before = {id: doc(client, id) for id in (ok, failed)}
    for id in (ok, failed):
        client.mutation(S.cancel, {"id": id})
    assert {id: doc(client, id) for id in (ok, failed)} == before
    assert count(client, name) == 1


def test_cancel_tree_reaches_what_a_finished_function_scheduled(client, job_baseline):
    name = unique("fan")
    parent = client.mutation(S.schedule_fn, {"fn": "fan_out",
                                             "args": {"name": name, "delay": 10_000}})
    assert run_scheduled() == ["success"]
    (child,) = ScheduledFunction.objects.exclude(pk=pk(parent))
    assert (child.name, child.state, child.origin_id) == (BUMP_PATH, "pending", pk(parent))
    child_id = ids.encode_id(TABLE, child.pk)

    # ctx.scheduler.cancel of a finished function is a no-op, children included
    client.mutation(S.cancel, {"id": parent})
    assert doc(client, child_id)["state"] == {"kind": "pending"}

    # cancel_tree (the admin's cancel) follows origins down from the finished parent
    assert cancel_tree("default", [pk(parent)]) == 1
    assert doc(client, parent)["state"] == {"kind": "success"}
    assert doc(client, child_id)["state"] == {"kind": "canceled"}
    child.refresh_from_db()
    assert ProcrastinateJob.objects.get(id=child.job_id).status == "cancelled"
    clock.advance(10_000)
    assert run_scheduled() == []
    assert count(client, name) == 0


def test_cancel_a_pending_parent_cancels_its_children_recursively(client):
    # parent → child → grandchild, all pending: build the tree by hand through origins
    name = unique("tree")
    ids_ = [client.mutation(S.schedule_bump, {"name": name, "delay": 10_000})
            for _ in range(3)]
    pks = [pk(i) for i in ids_]
    ScheduledFunction.objects.filter(pk=pks[1]).update(origin_id=pks[0])
    ScheduledFunction.objects.filter(pk=pks[2]).update(origin_id=pks[1])
    client.mutation(S.cancel, {"id": ids_[0]})
    assert [doc(client, i)["state"] for i in ids_] == [{"kind": "canceled"}] * 3
    assert set(ProcrastinateJob.objects.filter(
        id__in=ScheduledFunction.objects.values("job_id")).values_list("status", flat=True)) \
        == {"cancelled"}
    clock.advance(10_000)
    assert run_scheduled() == []


def test_a_canceled_action_carries_on_but_what_it_schedules_does_not_run(client):
    name = unique("self-cancel")
    id = client.mutation(S.schedule_fn, {"fn": "cancel_self_then_schedule",
                                         "args": {"name": name}})
    results = run_scheduled()
    assert results[0] == "success, but it was canceled while it ran"  # it ran to the end
    children = list(ScheduledFunction.objects.filter(origin_id=pk(id)).order_by("pk"))
    assert [c.name for c in children] == [BUMP_PATH, BUMP_PATH]
    assert [c.state for c in children] == ["canceled", "canceled"]
    assert doc(client, id)["state"] == {"kind": "canceled"}
    assert count(client, name) == 0
    assert run_scheduled() == []


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
    id = client.mutation(S.schedule_fn, {"fn": "slow_action",
                                         "args": {"name": name, "seconds": 0}})
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
    id = client.mutation(S.schedule_fn, {"fn": "slow_action",
                                         "args": {"name": name, "seconds": 0}})
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
    id = client.mutation(S.schedule_fn, {"fn": "action_schedules",
                                         "args": {"name": name, "delay": 0}})
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
    id = client.mutation(S.schedule_fn, {"fn": "flaky_bump",
                                         "args": {"name": name, "failures": 2}})
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


def test_a_transient_failure_on_the_last_attempt_ends_failed(client):
    name = unique("flaky-last")
    id = client.mutation(S.schedule_fn, {"fn": "flaky_bump",
                                         "args": {"name": name, "failures": 5}})
    with pytest.raises(TransientFailure):
        runner.run(pk(id), attempt=1, last_attempt=False)
    assert runner.run(pk(id), attempt=2, last_attempt=True) == "failed: Server Error"
    d = doc(client, id)
    assert d["state"] == {"kind": "failed", "error": "Server Error"}
    assert ScheduledFunction.objects.get(pk=pk(id)).attempts == 2
    assert count(client, name) == 0
    assert run_scheduled() == []


def test_a_deleted_row_is_gone():
    assert runner.run(987_654_321) == "gone"


# -- the system table ------------------------------------------------------------------------

def test_system_table_get_query_and_paginate(client):
    name = unique("system")
    first = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    second = client.mutation(S.schedule_bump, {"name": name, "delay": 10_000})
    third = client.mutation(S.schedule_bump, {"name": name, "delay": 20_000})
    assert run_scheduled() == ["success"]

    listed = client.query(S.scheduled, {})
    assert [d["_id"] for d in listed] == [third, second, first]  # newest first
    assert [d["state"]["kind"] for d in listed] == ["pending", "pending", "success"]
    assert listed[2] == doc(client, first)
    assert client.query(S.scheduled, {"name": BUMP_PATH}) == listed
    assert client.query(S.scheduled, {"name": "testapp/scheduling:other"}) == []

    page = client.query(S.pending_page, {"paginationOpts": {"numItems": 10, "cursor": None}})
    assert [d["_id"] for d in page["page"]] == [second, third]
    assert page["isDone"] is True
    page = client.query(S.pending_page, {"paginationOpts": {"numItems": 1, "cursor": None}})
    assert [d["_id"] for d in page["page"]] == [second] and page["isDone"] is False
    page = client.query(S.pending_page, {"paginationOpts": {
        "numItems": 1, "cursor": page["continueCursor"]}})
    assert [d["_id"] for d in page["page"]] == [third]

    assert client.query(S.scheduled_one, {"id": ids.encode_id(TABLE, 987_654_321)}) is None
    out = client.call(S.scheduled_one, {"id": ids.encode_id("counters", 1)})
    assert isinstance(out.error, InvalidId)
    assert ("ctx.db.system.get: argument `id` ('" in out.error.message
            and "is an id of table 'counters', not of table '_scheduled_functions'"
            in out.error.message)


@pytest.mark.parametrize("how, message", [
    ("db_query", "'_scheduled_functions' is a system table: read it through "
                 "ctx.db.system.get / ctx.db.system.query"),
    ("system_user_table", "'messages' is not a system table: use ctx.db"),
    ("unknown", "there is no system table '_storage'"),
])
def test_system_table_misuse(client, how, message):
    out = client.call(S.read_system_wrongly, {"how": how})
    assert isinstance(out.error, QueryError), out.error
    assert message in out.error.message


def test_system_table_cannot_be_written(client):
    name = unique("write")
    id = client.mutation(S.schedule_bump, {"name": name, "delay": 10_000})
    out = client.call(S.write_system, {"id": id})
    assert isinstance(out.error, QueryError), out.error
    assert "'_scheduled_functions' is a system table" in out.error.message
    assert "cannot be written" in out.error.message
    assert doc(client, id)["name"] == BUMP_PATH

    out = in_mutation(lambda ctx: ctx.db.system.patch(TABLE, id, {"name": "x"}))
    assert isinstance(out.error, NotAllowedHere)
    assert "system tables are read-only" in out.error.message


# -- crons -----------------------------------------------------------------------------------

EVERY = "bump every second"
DAILY = "daily bump"


def test_registration_adds_the_declared_crons(client):
    before = clock.now_ms()
    assert run_crons() == [(EVERY, "scheduled")]
    after = clock.now_ms()
    rows = {r.name: r for r in CronRun.objects.all()}
    assert set(rows) == {EVERY, DAILY}

    every = rows[EVERY]
    assert (every.function, every.args, every.schedule, every.skipped) == (
        BUMP_PATH, {"name": "cron:every-second"}, "every 1 s", 0)
    assert before <= every.next_run - 1000 <= every.last_run <= after
    (run,) = ScheduledFunction.objects.all()
    assert every.last_scheduled_id == run.pk
    assert (run.name, run.args, run.cron, run.state, run.scheduled_time) == (
        BUMP_PATH, [{"name": "cron:every-second"}], EVERY, "pending", every.last_run)

    daily = rows[DAILY]
    assert (daily.function, daily.args, daily.schedule) == (
        BUMP_PATH, {"name": "cron:daily"}, "cron 30 3 * * *")
    assert daily.next_run == next_0330_after(before)
    assert (daily.last_run, daily.last_scheduled_id) == (None, None)

    assert run_scheduled() == ["success"]
    assert count(client, "cron:every-second") == 1
    # registering again keeps the rows and their next runs
    assert cron_table.register(discover()) == {EVERY: "kept", DAILY: "kept"}
    assert {r.name: r.next_run for r in CronRun.objects.all()} == {
        EVERY: every.next_run, DAILY: daily.next_run}


def test_a_cron_whose_previous_run_is_pending_is_skipped(client):
    assert run_crons() == [(EVERY, "scheduled")]
    clock.advance(1000)
    assert run_crons() == [(EVERY, "skipped: the previous run is still pending")]
    assert CronRun.objects.get(name=EVERY).skipped == 1
    assert ScheduledFunction.objects.filter(cron=EVERY).count() == 1
    assert run_scheduled() == ["success"]
    clock.advance(1000)
    assert run_crons() == [(EVERY, "scheduled")]
    assert ScheduledFunction.objects.filter(cron=EVERY).count() == 2
    assert CronRun.objects.get(name=EVERY).skipped == 1


def test_a_cron_whose_previous_run_is_in_progress_is_skipped(client):
    assert run_crons() == [(EVERY, "scheduled")]
    ScheduledFunction.objects.filter(cron=EVERY).update(state="inProgress")
    assert advance_time(1000) == []
    assert CronRun.objects.get(name=EVERY).skipped == 1
    assert ScheduledFunction.objects.filter(cron=EVERY).count() == 1
    assert count(client, "cron:every-second") == 0


def test_missed_runs_collapse_into_one(client):
    assert run_crons() == [(EVERY, "scheduled")]
    assert run_scheduled() == ["success"]
    # three days later: thousands of missed every-second runs and three daily ones
    assert advance_time(3 * DAY) == ["success", "success"]
    assert count(client, "cron:every-second") == 2
    assert count(client, "cron:daily") == 1
    assert ScheduledFunction.objects.filter(cron=EVERY).count() == 2
    assert ScheduledFunction.objects.filter(cron=DAILY).count() == 1
    every, daily = CronRun.objects.get(name=EVERY), CronRun.objects.get(name=DAILY)
    assert every.next_run == every.last_run + 1000
    assert daily.next_run == next_0330_after(daily.last_run)
    assert daily.next_run > clock.now_ms()
    # and nothing more is due now
    assert run_crons() == []


def test_advance_time_runs_an_interval_cron_each_period(client):
    assert run_crons() == [(EVERY, "scheduled")]
    assert run_scheduled() == ["success"]
    for n in range(2, 5):
        assert advance_time(1000) == ["success"]
        assert count(client, "cron:every-second") == n


def test_run_now(client):
    assert cron_table.register(discover()) == {EVERY: "added", DAILY: "added"}
    next_run = CronRun.objects.get(name=DAILY).next_run
    before = clock.now_ms()
    assert cron_table.run_now(DAILY) == "scheduled"
    (run,) = ScheduledFunction.objects.filter(cron=DAILY)
    assert run.state == "pending" and before <= run.scheduled_time <= clock.now_ms()
    assert cron_table.run_now(DAILY) == "skipped: the previous run is still pending"
    daily = CronRun.objects.get(name=DAILY)
    assert (daily.skipped, daily.next_run, daily.last_scheduled_id) == (1, next_run, run.pk)
    assert run_scheduled() == ["success"]
    assert count(client, "cron:daily") == 1
    assert cron_table.run_now(DAILY) == "scheduled"
    with pytest.raises(ConfigurationError, match="no cron named 'nope' is registered"):
        cron_table.run_now("nope")


def test_register_removes_and_updates_crons():
    assert cron_table.register(discover()) == {EVERY: "added", DAILY: "added"}
    every = cron_by_name(EVERY)
    assert cron_table.register([every]) == {EVERY: "kept", DAILY: "removed"}
    assert list(CronRun.objects.values_list("name", flat=True)) == [EVERY]

    clock.advance(5000)
    now = clock.now_ms()
    changed = Cron(EVERY, Every(2000), every.ref, every.args)
    assert cron_table.register([changed]) == {EVERY: "updated"}
    row = CronRun.objects.get(name=EVERY)
    assert row.schedule == "every 2 s"
    assert now <= row.next_run <= clock.now_ms()


def test_register_refuses_bad_crons_and_changes_nothing():
    assert cron_table.register(discover()) == {EVERY: "added", DAILY: "added"}
    bump = internal.testapp.scheduling.bump
    bad = [
        (Cron("bad", Every(1000), internal.testapp.scheduling.nope), "Could not find function"),
        (Cron("bad", Every(1000), bump, {"name": 1}), "`name`"),
        (Cron("bad", Every(1000), internal.testapp.scheduling.count, {"name": "x"}),
         "it is a query"),
        (Cron("bad", Every(1000), api.testapp.scheduling.bump, {"name": "x"}),
         "refer to it as internal.testapp.scheduling.bump"),
    ]
    for cron, message in bad:
        with pytest.raises(ConfigurationError, match="cron 'bad'") as info:
            cron_table.register([cron_by_name(EVERY), cron])
        assert message in str(info.value)
    assert sorted(CronRun.objects.values_list("name", flat=True)) == [EVERY, DAILY]



def test_register_error_names_the_cron_once():
    with pytest.raises(ConfigurationError) as info:
        cron_table.register([Cron("bad", Every(1000), internal.testapp.scheduling.nope)])
    assert str(info.value) == ("cron 'bad': cannot schedule internal.testapp.scheduling.nope: "
                               "Could not find function for 'testapp/scheduling:nope'")


def test_cron_arguments_may_be_any_convex_value(client):
    """Cron args are Convex values (as ctx.scheduler's): bytes must register and reach the
    scheduled run unchanged."""
    args = {"fn": "bump", "args": {"name": b"\x00\x01"}}
    cron = Cron("bytes args", Every(1000), internal.testapp.scheduling.schedule_fn, args)
    assert cron_table.register([cron]) == {"bytes args": "added"}
    assert cron_table.run_due({cron.name: cron}) == [("bytes args", "scheduled")]
    (run,) = ScheduledFunction.objects.filter(cron="bytes args")
    assert doc(client, ids.encode_id(TABLE, run.pk))["args"] == [args]
    assert cron_table.register([cron]) == {"bytes args": "kept"}


# -- admin -----------------------------------------------------------------------------------

@pytest.fixture
def admin_client():
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    web = Client()
    web.force_login(user)
    return web


SF_URL = "/admin/reactive/scheduledfunction/"
CRON_URL = "/admin/reactive/cronrun/"


def test_admin_lists_and_filters_scheduled_functions(client, admin_client):
    name = unique("admin")
    done = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    assert run_scheduled() == ["success"]
    pending = client.mutation(S.schedule_bump, {"name": name, "delay": 60_000})

    response = admin_client.get(SF_URL)
    assert response.status_code == 200
    assert {o.pk for o in response.context["cl"].result_list} == {pk(done), pk(pending)}
    for state, want in (("pending", pending), ("success", done)):
        response = admin_client.get(SF_URL, {"state__exact": state})
        assert response.status_code == 200
        assert [o.pk for o in response.context["cl"].result_list] == [pk(want)]
    response = admin_client.get(SF_URL, {"due": "hour"})
    assert [o.pk for o in response.context["cl"].result_list] == [pk(pending)]
    response = admin_client.get(SF_URL, {"due": "later"})
    assert list(response.context["cl"].result_list) == []
    response = admin_client.get(SF_URL, {"due": "past"})
    assert [o.pk for o in response.context["cl"].result_list] == [pk(done)]

    response = admin_client.get(f"{SF_URL}{pk(done)}/change/")
    assert response.status_code == 200  # read-only view


def test_admin_cancel_action(client, admin_client):
    name = unique("admin-cancel")
    done = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    assert run_scheduled() == ["success"]
    pending = client.mutation(S.schedule_bump, {"name": name, "delay": 60_000})
    response = admin_client.post(SF_URL, {"action": "cancel",
                                          "_selected_action": [pk(done), pk(pending)]})
    assert response.status_code == 302
    assert doc(client, pending)["state"] == {"kind": "canceled"}
    assert doc(client, done)["state"] == {"kind": "success"}
    row = ScheduledFunction.objects.get(pk=pk(pending))
    assert ProcrastinateJob.objects.get(id=row.job_id).status == "cancelled"
    messages = [str(m) for m in admin_client.get(SF_URL).context["messages"]]
    assert messages and messages[0].startswith("Canceled 1 scheduled function(s)")


def test_admin_crons_and_run_now(client, admin_client):
    cron_table.register(discover())
    response = admin_client.get(CRON_URL)
    assert response.status_code == 200
    assert {o.pk for o in response.context["cl"].result_list} == {EVERY, DAILY}
    response = admin_client.post(CRON_URL, {"action": "run_now", "_selected_action": [DAILY]})
    assert response.status_code == 302
    (run,) = ScheduledFunction.objects.filter(cron=DAILY)
    assert run.state == "pending"
    assert ScheduledFunction.objects.filter(cron=EVERY).count() == 0
    response = admin_client.get(CRON_URL)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [f"{DAILY}: scheduled"]


def test_admin_refuses_add_change_and_delete(client, admin_client):
    id = client.mutation(S.schedule_bump, {"name": unique("admin-ro"), "delay": 60_000})
    cron_table.register(discover())
    assert admin_client.get(f"{SF_URL}add/").status_code == 403
    assert admin_client.get(f"{CRON_URL}add/").status_code == 403
    assert admin_client.get(f"{SF_URL}{pk(id)}/delete/").status_code == 403
    assert admin_client.post(f"{SF_URL}{pk(id)}/change/", {"name": "x"}).status_code == 403
    assert admin_client.post(f"{SF_URL}{pk(id)}/delete/", {"post": "yes"}).status_code == 403
    # the bulk delete action is not offered: posting it deletes nothing
    response = admin_client.get(SF_URL)
    assert response.context["action_form"].fields["action"].choices == [
        ("", "---------"), ("cancel", "Cancel the selected scheduled functions")]
    admin_client.post(SF_URL, {"action": "delete_selected", "_selected_action": [pk(id)]})
    assert ScheduledFunction.objects.get(pk=pk(id)).name == BUMP_PATH
    daily_url = f"{CRON_URL}{DAILY.replace(' ', '_20')}/delete/"
    assert admin_client.get(daily_url).status_code == 403
    assert CronRun.objects.count() == 2

