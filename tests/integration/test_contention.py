"""No caller fails under contention: many threads incrementing one row, in both isolation modes.

The attempt budget here is small (3, and a 5 ms lock timeout so that row-lock waits time out
too): a call gets two attempts of its own, then waits its turn in the function's queue, and the
attempts it makes with its turn must not run out while it competes with calls that are not
queued yet.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

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
