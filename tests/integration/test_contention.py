"""No caller fails under contention: many threads incrementing one row, in both isolation modes.

The attempt budget here is small (3, and a 5 ms lock timeout so that row-lock waits time out
too): a call gets two attempts of its own, then waits its turn in the function's queue, and the
attempts it makes with its turn must not run out while it competes with calls that are not
queued yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import override_settings

from reactive.errors import ConflictError
from reactive.functions.executor import execute
from reactive.transactions import retry
from tests.testapp.models import Counter

pytestmark = pytest.mark.django_db(transaction=True)

THREADS, INCREMENTS = 20, 20
TIGHT = {"RETRY": {"max_attempts": 3, "lock_timeout_ms": 5.0}}


@pytest.mark.parametrize("fn", ["testapp:counter_inc", "testapp:counter_inc_locked"])
def test_no_call_fails_under_contention(fn):
    retry._hot_until.clear()  # start cold, as a fresh process would
    Counter.objects.create(name="hot", value=0)
    barrier = threading.Barrier(THREADS)

    def client(i: int) -> list:
        try:
            barrier.wait(timeout=30)
            return [execute(fn, {"name": "hot"}) for _ in range(INCREMENTS)]
        finally:
            connections.close_all()

    with override_settings(REACTIVE=TIGHT), ThreadPoolExecutor(THREADS) as pool:
        outcomes = [o for batch in pool.map(client, range(THREADS)) for o in batch]
    errors = [o.error.message for o in outcomes if o.error]
    assert errors == [], f"{len(errors)} of {len(outcomes)} calls failed: {errors[0]}"
    assert Counter.objects.get(name="hot").value == THREADS * INCREMENTS
    assert sorted(o.value for o in outcomes) == list(range(1, THREADS * INCREMENTS + 1))
    assert max(o.attempts for o in outcomes) > 1  # there was contention to survive


def test_a_queued_call_retries_for_queued_seconds_then_fails_clearly():
    """A turn's retries are bounded by time: a row locked elsewhere for longer fails the call."""
    retry._hot_until["reactive:testapp:counter_inc_locked"] = float("inf")  # queue at once
    Counter.objects.create(name="held", value=0)
    locked, release = threading.Event(), threading.Event()

    def hold_row() -> None:  # another session keeps the row locked for 2 s
        try:
            with transaction.atomic():
                Counter.objects.select_for_update().get(name="held")
                locked.set()
                release.wait(timeout=2)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        settings = {"RETRY": {"max_attempts": 1, "lock_timeout_ms": 20.0, "queued_seconds": 0.3}}
        started = time.monotonic()
        with override_settings(REACTIVE=settings):
            out = execute("testapp:counter_inc_locked", {"name": "held"})
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()
        retry._hot_until.clear()
    assert isinstance(out.error, ConflictError), out.error
    assert "SQLSTATE 55P03" in out.error.message
    assert "after its turn came, RETRY['queued_seconds']" in out.error.message
    assert 0.3 <= elapsed < 1.5  # retried for its turn's time, not one attempt nor forever
    assert Counter.objects.get(name="held").value == 0


def test_concurrent_writers_of_different_rows_of_a_small_table_do_not_conflict():
    """Two serializable mutations read one row each of a small table through an index, both
    finish reading before either writes, then each writes its own row. Postgres would plan a
    sequential scan for a table this small, and a sequential scan predicate-locks the whole
    table: each would have read what the other wrote, and one would fail and retry (and, once
    calls had retried enough, the function's calls would queue one at a time). Reading
    through the index, they conflict no more than their reads do: both commit at the first
    attempt."""
    from tests.testapp.functions import bench

    retry._hot_until.clear()
    for name in ("step-a", "step-b", *(f"step-{i}" for i in range(50))):
        Counter.objects.create(name=name, value=0)
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE testapp_counter")  # the planner knows how small it is
    both_read = threading.Barrier(2)
    waited: set[str] = set()

    def first_attempt_waits(name: str) -> Callable[[], None]:
        def hook() -> None:
            if name not in waited:  # a retry does not wait again
                waited.add(name)
                both_read.wait(timeout=5)

        return hook

    def call(name: str) -> Any:
        try:
            return execute("testapp/bench:bump_in_step", {"name": name})
        finally:
            connections.close_all()

    bench.IN_STEP.update({n: first_attempt_waits(n) for n in ("step-a", "step-b")})
    try:
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(call, ["step-a", "step-b"]))
    finally:
        bench.IN_STEP.clear()
    assert [o.error for o in outcomes] == [None, None]
    assert [o.value for o in outcomes] == [1, 1]
    assert [o.attempts for o in outcomes] == [1, 1]
