"""The rate limiter through real mutations on Postgres: limits reached with the right
``retry_after``, spends that roll back with their mutation, checks that spend nothing, and
concurrent callers that never get more than the capacity, sharded or not."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections

from reactive.errors import ConvexError, NotAllowedHere
from reactive.models import RateLimitState
from reactive.testing import ReactiveClient
from reactive.transactions import retry

pytestmark = pytest.mark.django_db(transaction=True)

F = "testapp/ratelimits:"


def test_a_token_bucket_refuses_past_capacity_with_the_exact_retry_after(client: ReactiveClient):
    spends = [client.mutation(F + "spend", {"name": "send", "key": "u1"}) for _ in range(4)]
    assert [s["ok"] for s in spends] == [True, True, True, False]
    # Capacity 3, one token per 6 s: the 4th call lacks one token minus what refilled since the
    # first call (each call refills from the last one's ts, and the bucket never reached full).
    elapsed = spends[3]["now"] - spends[0]["now"]
    assert spends[3]["retry_after"] == pytest.approx(6000 - elapsed, abs=1e-6)
    assert all(s["retry_after"] is None for s in spends[:3])
    assert client.mutation(F + "spend", {"name": "send", "key": "u2"})["ok"]  # keys are separate


def test_a_fixed_window_waits_for_the_next_boundary(client: ReactiveClient):
    hour = 3_600_000
    results = [client.mutation(F + "spend", {"name": "window"}) for _ in range(3)]
    if results[0]["now"] // hour != results[2]["now"] // hour:
        pytest.skip("crossed a window boundary mid-test")
    assert [r["ok"] for r in results] == [True, True, False]
    now = results[2]["now"]
    assert results[2]["retry_after"] == pytest.approx((now // hour + 1) * hour - now)


def test_throws_raises_the_components_error_data(client: ReactiveClient):
    for _ in range(3):
        client.mutation(F + "spend_or_throw", {"name": "send", "key": "t"})
    outcome = client.call(F + "spend_or_throw", {"name": "send", "key": "t"})
    assert isinstance(outcome.error, ConvexError)
    data = outcome.error.data
    assert (data["kind"], data["name"]) == ("RateLimited", "send")
    assert 0 < data["retryAfter"] <= 6000


def test_a_mutation_that_raises_after_spending_spends_nothing(client: ReactiveClient):
    for _ in range(5):
        outcome = client.call(F + "spend_then_fail", {"name": "window", "key": "rb"})
        assert isinstance(outcome.error, ConvexError)
    assert not RateLimitState.objects.filter(name="window", key="rb").exists()
    spends = [client.mutation(F + "spend", {"name": "window", "key": "rb"}) for _ in range(2)]
    assert all(s["ok"] for s in spends)


def test_check_spends_nothing_and_reset_refills(client: ReactiveClient):
    assert client.query(F + "check", {"name": "send", "key": "c"})["ok"]
    assert not RateLimitState.objects.filter(key="c").exists()  # a query writes no row
    for _ in range(3):
        client.mutation(F + "spend", {"name": "send", "key": "c"})
    checked = client.query(F + "check", {"name": "send", "key": "c"})
    assert not checked["ok"] and checked["retry_after"] > 0
    client.mutation(F + "reset", {"name": "send", "key": "c"})
    assert client.query(F + "check", {"name": "send", "key": "c"})["ok"]
    assert client.mutation(F + "spend", {"name": "send", "key": "c"})["ok"]


def test_spending_in_a_query_is_refused(client: ReactiveClient):
    outcome = client.call(F + "spend_in_query", {"name": "send"})
    assert isinstance(outcome.error, NotAllowedHere)
    assert "call it from a mutation" in outcome.error.message


def test_reserve_grants_ahead_of_time_within_max_reserved(client: ReactiveClient):
    args = {"name": "reserved", "key": "r", "reserve": True}
    first = client.mutation(F + "spend", {**args, "count": 1})
    assert first["ok"] and first["retry_after"] is None
    ahead = client.mutation(F + "spend", {**args, "count": 3})  # 3 owed: ~3 minutes away
    assert ahead["ok"] and 170_000 < ahead["retry_after"] <= 180_000
    too_far = client.mutation(F + "spend", {**args, "count": 3})  # 6 owed > max_reserved 5
    assert not too_far["ok"]


def _hammer(fn: str, name: str, threads: int, calls: int) -> tuple[int, int, float]:
    """``threads`` × ``calls`` spends of one key: (granted, attempts in all, wall seconds)."""
    client = ReactiveClient()
    retry._hot_until.clear()  # start cold, as a fresh process would
    barrier = threading.Barrier(threads)

    def worker(_: int) -> list[Any]:
        try:
            barrier.wait(timeout=30)
            return [client.call(F + fn, {"name": name, "key": "hot"}) for _ in range(calls)]
        finally:
            connections.close_all()

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        outcomes = [o for batch in pool.map(worker, range(threads)) for o in batch]
    wall = time.monotonic() - started
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error][:3]
    return sum(o.value["ok"] for o in outcomes), sum(o.attempts for o in outcomes), wall


@pytest.mark.parametrize("fn", ["spend", "spend_locked"])
@pytest.mark.parametrize("name", ["tight", "tight_sharded"])
def test_concurrent_callers_never_get_more_than_the_capacity(fn: str, name: str):
    granted, _, _ = _hammer(fn, name, threads=16, calls=8)  # 128 calls for 40 tokens
    if name == "tight":
        assert granted == 40
    else:  # 8 shards of 5: a call sees two of them, so a few may be refused early
        assert 30 <= granted <= 40
    rows = RateLimitState.objects.filter(name=name, key="hot")
    assert all(row.value >= -1e-9 for row in rows)


@pytest.mark.parametrize("fn", ["spend", "spend_locked"])
def test_sharding_a_hot_key_measured(fn: str, capsys: pytest.CaptureFixture[str]):
    report = {}
    for name in ("wide", "wide_sharded"):
        granted, attempts, wall = _hammer(fn, name, threads=16, calls=10)
        assert granted == 160
        report[name] = (attempts, wall)
    with capsys.disabled():
        for name, (attempts, wall) in report.items():
            print(f"\n{fn} {name}: 160 calls, {attempts} attempts, {wall:.2f} s")
