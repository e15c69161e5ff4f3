"""The rate limiter's pure parts: limit validation, token-bucket and fixed-window arithmetic,
shard division and the sharded decision (no database)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from reactive.errors import ConfigurationError
from reactive.ratelimit import MINUTE, RateLimiter, fixed_window, token_bucket
from reactive.ratelimit.buckets import BucketState, initial, spend
from reactive.ratelimit.definitions import per_shard
from reactive.ratelimit.limiter import _decide


def test_token_bucket_refills_continuously_up_to_capacity():
    limit = token_bucket(rate=10, period=MINUTE, capacity=3)  # one token every 6 s
    state = initial(limit, 1000.0, random.Random(0))
    assert state == BucketState(3, 1000.0)
    after = spend(state, limit, 1000.0, 3)
    assert (after.value, after.ts, after.retry_after) == (0, 1000.0, None)
    short = spend(BucketState(after.value, after.ts), limit, 4000.0, 1)  # half a token refilled
    assert short.value == pytest.approx(-0.5)
    assert short.retry_after == pytest.approx(3000.0)
    full = spend(BucketState(0, 0.0), limit, 10 * MINUTE, 0)  # long idle: capped at capacity
    assert full.value == 3


def test_token_bucket_capacity_defaults_to_rate():
    assert token_bucket(rate=7, period=MINUTE).max == 7


def test_fixed_window_refills_at_boundaries_only():
    limit = fixed_window(rate=2, period=1000, start=0)
    state = initial(limit, 2500.0, random.Random(0))
    assert state == BucketState(2, 0)
    first = spend(state, limit, 2500.0, 2)
    assert (first.value, first.ts) == (0, 2000.0)  # ts is the current window's start
    blocked = spend(BucketState(first.value, first.ts), limit, 2999.0, 1)
    assert blocked.value == -1 and blocked.retry_after == pytest.approx(1.0)
    at_boundary = spend(BucketState(first.value, first.ts), limit, 3000.0, 1)
    assert (at_boundary.value, at_boundary.ts, at_boundary.retry_after) == (1, 3000.0, None)
    # Four tokens short with rate 2: the second boundary from now (4000) has them.
    far = spend(BucketState(0, 2000.0), limit, 2200.0, 4)
    assert far.retry_after == pytest.approx(1800.0)


def test_fixed_window_without_start_gets_a_random_phase_from_the_seeded_rng():
    limit = fixed_window(rate=1, period=1000)
    one = initial(limit, 50_000.0, random.Random(7))
    assert one == initial(limit, 50_000.0, random.Random(7))  # a retry draws the same start
    assert 49_000.0 < one.ts <= 50_000.0


def test_fixed_window_before_its_start_grants_only_the_initial_tokens():
    limit = fixed_window(rate=1, period=1000, start=10_000)
    assert spend(BucketState(1, 10_000), limit, 5_000.0, 1).value == 0


def test_shards_divide_rate_capacity_and_reserve():
    limit = per_shard(token_bucket(rate=40, period=MINUTE, capacity=80, shards=4, max_reserved=8))
    assert (limit.rate, limit.max, limit.max_reserved) == (10, 20, 2)


@pytest.mark.parametrize(
    ("limit", "field"),
    [
        (token_bucket(rate=0, period=MINUTE), "rate"),
        (token_bucket(rate=1, period=-5), "period"),
        (token_bucket(rate=1, period=MINUTE, capacity=float("nan")), "capacity"),
        (fixed_window(rate=1, period=MINUTE, shards=0), "shards"),
        (fixed_window(rate=1, period=MINUTE, shards=2.5), "shards"),  # type: ignore[arg-type]
        (token_bucket(rate=1, period=MINUTE, max_reserved=-1), "max_reserved"),
        (fixed_window(rate=1, period=MINUTE, start=float("inf")), "start"),
        ({"kind": "token bucket", "rate": 1}, "token_bucket"),
    ],
)
def test_bad_config_names_the_limit_and_the_field(limit: Any, field: str):
    with pytest.raises(ConfigurationError, match=rf"'sends'.*{field}"):
        RateLimiter({"sends": limit})


class _Row:
    def __init__(self, value: float, ts: float) -> None:
        self.value, self.ts = value, ts


class _Ctx:
    now = 0.0
    random = random.Random(0)


def test_sharded_spend_takes_the_fuller_shard_or_both_balanced():
    limit = token_bucket(rate=1, period=10**12, capacity=2)  # no refill in these tests
    rows = {0: _Row(2, 0), 1: _Row(1, 0)}
    status, updates = _decide(limit, rows, [1, 0], _Ctx(), 1, False)
    assert status.ok and [(s.index, r.value) for s, r in updates] == [(0, 1)]
    # 0.75 + 0.75 can pay 1 together; neither can alone: both end level at 0.25.
    rows = {0: _Row(0.75, 0), 1: _Row(0.75, 0)}
    status, updates = _decide(limit, rows, [0, 1], _Ctx(), 1, False)
    assert status.ok
    assert [round(r.value, 9) for _, r in updates] == [0.25, 0.25]
    rows = {0: _Row(0.25, 0), 1: _Row(0.25, 0)}
    status, updates = _decide(limit, rows, [0, 1], _Ctx(), 1, False)
    assert not status.ok and updates == [] and status.retry_after and status.retry_after > 0


def test_a_count_no_shard_could_ever_grant_is_refused():
    limiter = RateLimiter({"x": token_bucket(rate=4, period=MINUTE, shards=4)})
    with pytest.raises(ConfigurationError, match="count 5 exceeds 2 per 4 shards"):
        limiter.check(_Ctx(), "x", count=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="no rate limit named 'y'"):
        limiter.check(_Ctx(), "y")  # type: ignore[arg-type]
