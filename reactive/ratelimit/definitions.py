"""The rate limits an app declares in code: `token_bucket` and `fixed_window`, validated.

A limit is a frozen value; `validate(name, limit)` checks it once, when a `RateLimiter` is built,
and a bad one raises `ConfigurationError` naming the limit and the field. Times are in
milliseconds, like ``ctx.now`` (`SECOND`, `MINUTE`, `HOUR`, `DAY` help). `per_shard` divides a
sharded limit's rate, capacity and reserve between its shards, as the Convex component does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import ConfigurationError

SECOND = 1000.0
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True)
class TokenBucket:
    """``rate`` tokens are added every ``period`` ms, up to ``capacity`` (default: ``rate``)."""

    rate: float
    period: float
    capacity: float | None = None
    shards: int = 1
    max_reserved: float | None = None

    @property
    def max(self) -> float:
        return self.rate if self.capacity is None else self.capacity


@dataclass(frozen=True)
class FixedWindow:
    """``rate`` tokens are granted at the start of each ``period`` ms window, up to ``capacity``.

    Windows start at ``start`` (ms since the epoch) plus whole periods; without it each key gets
    its own start, drawn from ``ctx.random``, so that keys do not all refill at the same instant.
    """

    rate: float
    period: float
    capacity: float | None = None
    shards: int = 1
    max_reserved: float | None = None
    start: float | None = None

    @property
    def max(self) -> float:
        return self.rate if self.capacity is None else self.capacity


Limit = TokenBucket | FixedWindow


def token_bucket(
    *,
    rate: float,
    period: float,
    capacity: float | None = None,
    shards: int = 1,
    max_reserved: float | None = None,
) -> TokenBucket:
    return TokenBucket(rate, period, capacity, shards, max_reserved)


def fixed_window(
    *,
    rate: float,
    period: float,
    capacity: float | None = None,
    shards: int = 1,
    max_reserved: float | None = None,
    start: float | None = None,
) -> FixedWindow:
    return FixedWindow(rate, period, capacity, shards, max_reserved, start)


def validate(name: str, limit: object) -> Limit:
    """Return ``limit`` if it is a usable limit, else raise `ConfigurationError`."""
    if not isinstance(limit, TokenBucket | FixedWindow):
        raise ConfigurationError(
            f"rate limit {name!r}: expected token_bucket(...) or fixed_window(...), "
            f"got {type(limit).__name__}"
        )
    positive = {"rate": limit.rate, "period": limit.period, "capacity": limit.capacity}
    for field, value in positive.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"rate limit {name!r}: {field} must be a number")
        if not math.isfinite(value) or value <= 0:
            raise ConfigurationError(f"rate limit {name!r}: {field} must be > 0, got {value}")
    if isinstance(limit.shards, bool) or not isinstance(limit.shards, int) or limit.shards < 1:
        raise ConfigurationError(
            f"rate limit {name!r}: shards must be an integer >= 1, got {limit.shards!r}"
        )
    if limit.max_reserved is not None and not limit.max_reserved >= 0:
        raise ConfigurationError(
            f"rate limit {name!r}: max_reserved must be >= 0, got {limit.max_reserved}"
        )
    if isinstance(limit, FixedWindow) and limit.start is not None:
        if not math.isfinite(limit.start):
            raise ConfigurationError(f"rate limit {name!r}: start must be a finite time in ms")
    return limit


def per_shard(limit: Limit) -> Limit:
    """The limit each of ``limit.shards`` shards enforces: rate, capacity, reserve divided."""
    n = limit.shards
    if n == 1:
        return limit
    return replace(
        limit,
        rate=limit.rate / n,
        capacity=limit.max / n,
        max_reserved=None if limit.max_reserved is None else limit.max_reserved / n,
    )
