"""`ctx.scheduler` (reactive.scheduler.schedule): run_after / run_at, the row and its job,
atomicity with the mutation, and bad calls refused before anything is written."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.test import override_settings

from reactive import clock, ids, internal
from reactive.errors import InvalidId, NotAllowedHere, SchedulerError
from reactive.models import ScheduledFunction
from reactive.scheduler import runner
from reactive.scheduler.jobs import TASK_NAME
from reactive.testing import run_scheduled
from tests import scheduler_support as support
from tests.helpers import in_mutation
from tests.scheduler_support import (
    BUMP_PATH,
    DAY,
    TABLE,
    S,
    count,
    doc,
    new_jobs,
    pk,
    scheduler_settings,
    unique,
)

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
_clock = support._clock  # autouse: every test starts and ends on the real clock
job_baseline = support.job_baseline


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
        "mutation",
        "pending",
        0,
        "",
        None,
    )
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
    out = in_mutation(
        lambda ctx: ctx.scheduler.run_at(when, internal.testapp.scheduling.bump, {"name": name})
    )
    assert doc(client, out.unwrap())["scheduledTime"] == when.timestamp() * 1000.0
    out = in_mutation(
        lambda ctx: ctx.scheduler.run_at(
            dt.datetime(2031, 5, 6), internal.testapp.scheduling.bump, {"name": name}
        )
    )
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


@pytest.mark.parametrize(
    "fn, args, error, message",
    [
        (
            S.schedule_ref,
            {"what": "unknown"},
            SchedulerError,
            f"{SCHEDULE_REF}: cannot schedule internal.testapp.scheduling.nope: Could not find "
            "function for 'testapp/scheduling:nope'",
        ),
        (
            S.schedule_ref,
            {"what": "string"},
            SchedulerError,
            f"{SCHEDULE_REF}: schedule a function by reference (api.x.y or internal.x.y), not str "
            "'testapp/scheduling:bump'",
        ),
        (
            S.schedule_ref,
            {"what": "callable"},
            SchedulerError,
            f"{SCHEDULE_REF}: schedule a function by reference (api.x.y or internal.x.y), not ",
        ),
        (
            S.schedule_ref,
            {"what": "query"},
            SchedulerError,
            f"{SCHEDULE_REF}: cannot schedule testapp/scheduling:count: it is a query; schedule a "
            "mutation or an action",
        ),
        (
            S.schedule_ref,
            {"what": "module"},
            SchedulerError,
            f"{SCHEDULE_REF}: cannot schedule internal.testapp: internal.testapp names a module, "
            "not a function",
        ),
        (
            S.schedule_ref,
            {"what": "public_bump"},
            SchedulerError,
            f"{SCHEDULE_REF}: cannot schedule api.testapp.scheduling.bump: testapp/scheduling:bump "
            "is internal: refer to it as internal.testapp.scheduling.bump",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "args": {"name": 1}},
            SchedulerError,
            f"{SCHEDULE_REF}: run_after testapp/scheduling:bump: ArgumentValidationError in "
            "testapp/scheduling:bump: `name`: ",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "args": {"name": "x", "extra": 1}},
            SchedulerError,
            "Object contains extra field `extra` that is not in the validator.",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "args": {}},
            SchedulerError,
            "Object is missing the required field `name`.",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "args": ["x"]},
            SchedulerError,
            "the arguments must be an object, not list",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "delay": -1},
            SchedulerError,
            f"{SCHEDULE_REF}: run_after delay_ms must be >= 0, got -1",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "delay": math.nan},
            SchedulerError,
            f"{SCHEDULE_REF}: run_after delay_ms must be finite, got nan",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "delay": math.inf},
            SchedulerError,
            f"{SCHEDULE_REF}: run_after delay_ms must be finite, got inf",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "delay": True},
            SchedulerError,
            f"{SCHEDULE_REF}: run_after delay_ms must be a number of milliseconds, not bool",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "delay": "5"},
            SchedulerError,
            f"{SCHEDULE_REF}: run_after delay_ms must be a number of milliseconds, not str",
        ),
        (
            S.schedule_ref,
            {"what": "bump", "delay": TOO_FAR},
            SchedulerError,
            f"{SCHEDULE_REF}: run_after is more than 1825 days away (1826 days)",
        ),
        (
            S.schedule_at,
            {"name": "x", "at": 1_700_000_000.0},
            SchedulerError,
            "testapp/scheduling:schedule_at: run_at timestamp 1.7e+09 is before 1973: it must "
            "be in milliseconds since the epoch (not seconds)",
        ),
        (
            S.schedule_at,
            {"name": "x", "at": math.nan},
            SchedulerError,
            "testapp/scheduling:schedule_at: run_at timestamp must be finite, got nan",
        ),
        (
            S.schedule_at,
            {"name": "x", "at": 1e15},
            SchedulerError,
            "testapp/scheduling:schedule_at: run_at is more than 1825 days away",
        ),
        (
            S.cancel,
            {"id": ids.encode_id(TABLE, 987_654_321)},
            SchedulerError,
            "testapp/scheduling:cancel: cancel: no scheduled function "
            f"{ids.encode_id(TABLE, 987_654_321)}",
        ),
        (
            S.cancel,
            {"id": ids.encode_id("counters", 1)},
            InvalidId,
            "testapp/scheduling:cancel: cancel expects an id of _scheduled_functions, got "
            f"{ids.encode_id('counters', 1)!r}",
        ),
        (
            S.cancel,
            {"id": "not-an-id"},
            InvalidId,
            "testapp/scheduling:cancel: cancel expects an id of _scheduled_functions, got "
            "'not-an-id'",
        ),
    ],
)
def test_bad_calls_are_clear_errors_and_schedule_nothing(
    client, job_baseline, fn, args, error, message
):
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
    assert out.error.message == (
        "testapp/scheduling:schedule_many: too many scheduled functions in one call (limit 3)"
    )
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
    assert out.error.message == (
        "testapp/scheduling:schedule_many: scheduled arguments total "
        "more than 120 bytes in one call"
    )
    assert ScheduledFunction.objects.count() == 1
    assert len(new_jobs(job_baseline)) == 1


def test_a_query_cannot_schedule(client):
    out = client.call(S.query_schedules)
    assert isinstance(out.error, NotAllowedHere)
    assert out.error.message == (
        "testapp/scheduling:query_schedules: ctx.scheduler is not "
        "available in a query; schedule from a mutation or an action"
    )
    assert ScheduledFunction.objects.count() == 0
