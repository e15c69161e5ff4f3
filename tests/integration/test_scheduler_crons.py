"""Crons (reactive.scheduler.crons, cron_table): registration, skipping, missed runs,
run now, and refused declarations."""

from __future__ import annotations

import pytest

from reactive import api, clock, ids, internal
from reactive.errors import ConfigurationError
from reactive.models import CronRun, ScheduledFunction
from reactive.scheduler import cron_table
from reactive.scheduler.crons import Cron, Every, discover
from reactive.testing import advance_time, run_crons, run_scheduled
from tests import scheduler_support as support
from tests.scheduler_support import (
    BUMP_PATH,
    DAILY,
    DAY,
    EVERY,
    TABLE,
    count,
    cron_by_name,
    doc,
    next_0330_after,
)

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
_clock = support._clock  # autouse: every test starts and ends on the real clock
job_baseline = support.job_baseline


# -- crons -----------------------------------------------------------------------------------


def test_registration_adds_the_declared_crons(client):
    before = clock.now_ms()
    assert run_crons() == [(EVERY, "scheduled")]
    after = clock.now_ms()
    rows = {r.name: r for r in CronRun.objects.all()}
    assert set(rows) == {EVERY, DAILY}

    every = rows[EVERY]
    assert (every.function, every.args, every.schedule, every.skipped) == (
        BUMP_PATH,
        {"name": "cron:every-second"},
        "every 1 s",
        0,
    )
    assert before <= every.next_run - 1000 <= every.last_run <= after
    (run,) = ScheduledFunction.objects.all()
    assert every.last_scheduled_id == run.pk
    assert (run.name, run.args, run.cron, run.state, run.scheduled_time) == (
        BUMP_PATH,
        [{"name": "cron:every-second"}],
        EVERY,
        "pending",
        every.last_run,
    )

    daily = rows[DAILY]
    assert (daily.function, daily.args, daily.schedule) == (
        BUMP_PATH,
        {"name": "cron:daily"},
        "cron 30 3 * * *",
    )
    assert daily.next_run == next_0330_after(before)
    assert (daily.last_run, daily.last_scheduled_id) == (None, None)

    assert run_scheduled() == ["success"]
    assert count(client, "cron:every-second") == 1
    # registering again keeps the rows and their next runs
    assert cron_table.register(discover()) == {EVERY: "kept", DAILY: "kept"}
    assert {r.name: r.next_run for r in CronRun.objects.all()} == {
        EVERY: every.next_run,
        DAILY: daily.next_run,
    }


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
        (
            Cron("bad", Every(1000), internal.testapp.scheduling.count, {"name": "x"}),
            "it is a query",
        ),
        (
            Cron("bad", Every(1000), api.testapp.scheduling.bump, {"name": "x"}),
            "refer to it as internal.testapp.scheduling.bump",
        ),
    ]
    for cron, message in bad:
        with pytest.raises(ConfigurationError, match="cron 'bad'") as info:
            cron_table.register([cron_by_name(EVERY), cron])
        assert message in str(info.value)
    assert sorted(CronRun.objects.values_list("name", flat=True)) == [EVERY, DAILY]


def test_register_error_names_the_cron_once():
    with pytest.raises(ConfigurationError) as info:
        cron_table.register([Cron("bad", Every(1000), internal.testapp.scheduling.nope)])
    assert str(info.value) == (
        "cron 'bad': cannot schedule internal.testapp.scheduling.nope: "
        "Could not find function for 'testapp/scheduling:nope'"
    )


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
