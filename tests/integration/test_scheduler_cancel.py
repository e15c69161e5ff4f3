"""Cancelling scheduled functions (`ctx.scheduler.cancel`, `cancel_tree`): pending ones,
finished ones, and what they scheduled."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django.models import ProcrastinateJob

from reactive import clock, ids
from reactive.models import ScheduledFunction
from reactive.scheduler import runner
from reactive.scheduler.schedule import cancel_tree
from reactive.testing import run_scheduled
from tests import scheduler_support as support
from tests.scheduler_support import BUMP_PATH, TABLE, S, count, doc, new_jobs, pk, unique

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
_clock = support._clock  # autouse: every test starts and ends on the real clock
job_baseline = support.job_baseline


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
        ["success", f'failed: Uncaught ConvexError: {{"name": "{name}", "why": "broken"}}']
    )
    before = {id: doc(client, id) for id in (ok, failed)}
    for id in (ok, failed):
        client.mutation(S.cancel, {"id": id})
    assert {id: doc(client, id) for id in (ok, failed)} == before
    assert count(client, name) == 1


def test_cancel_tree_reaches_what_a_finished_function_scheduled(client, job_baseline):
    name = unique("fan")
    parent = client.mutation(
        S.schedule_fn, {"fn": "fan_out", "args": {"name": name, "delay": 10_000}}
    )
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
    ids_ = [client.mutation(S.schedule_bump, {"name": name, "delay": 10_000}) for _ in range(3)]
    pks = [pk(i) for i in ids_]
    ScheduledFunction.objects.filter(pk=pks[1]).update(origin_id=pks[0])
    ScheduledFunction.objects.filter(pk=pks[2]).update(origin_id=pks[1])
    client.mutation(S.cancel, {"id": ids_[0]})
    assert [doc(client, i)["state"] for i in ids_] == [{"kind": "canceled"}] * 3
    assert set(
        ProcrastinateJob.objects.filter(
            id__in=ScheduledFunction.objects.values("job_id")
        ).values_list("status", flat=True)
    ) == {"cancelled"}
    clock.advance(10_000)
    assert run_scheduled() == []


def test_a_canceled_action_carries_on_but_what_it_schedules_does_not_run(client):
    name = unique("self-cancel")
    id = client.mutation(S.schedule_fn, {"fn": "cancel_self_then_schedule", "args": {"name": name}})
    results = run_scheduled()
    assert results[0] == "success, but it was canceled while it ran"  # it ran to the end
    children = list(ScheduledFunction.objects.filter(origin_id=pk(id)).order_by("pk"))
    assert [c.name for c in children] == [BUMP_PATH, BUMP_PATH]
    assert [c.state for c in children] == ["canceled", "canceled"]
    assert doc(client, id)["state"] == {"kind": "canceled"}
    assert count(client, name) == 0
    assert run_scheduled() == []
