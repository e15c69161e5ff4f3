"""Functions at `testapp/ratelimits:<name>`: rate limits spent, checked and reset in functions."""

from __future__ import annotations

from typing import Any

from reactive import ConvexError, mutation, query
from reactive.ratelimit import MINUTE, RateLimiter, fixed_window, token_bucket

HOUR_MS = 60 * MINUTE

limiter = RateLimiter(
    {
        "send": token_bucket(rate=10, period=MINUTE, capacity=3),
        "window": fixed_window(rate=2, period=HOUR_MS, start=0),
        "tight": token_bucket(rate=40, period=HOUR_MS),
        "tight_sharded": token_bucket(rate=40, period=HOUR_MS, shards=8),
        "wide": token_bucket(rate=100_000, period=HOUR_MS),
        "wide_sharded": token_bucket(rate=100_000, period=HOUR_MS, shards=8),
        "reserved": token_bucket(rate=1, period=MINUTE, max_reserved=5),
    }
)


def _status(ctx: Any, status: Any) -> dict[str, Any]:
    return {"ok": status.ok, "retry_after": status.retry_after, "now": ctx.now}


@mutation
def spend(
    ctx: Any, name: str, key: str | None = None, count: float = 1, reserve: bool = False
) -> dict[str, Any]:
    status = limiter.limit(ctx, name, key=key, count=count, reserve=reserve)
    return _status(ctx, status)


@mutation(isolation="select_for_update")
def spend_locked(ctx: Any, name: str, key: str | None = None) -> dict[str, Any]:
    return _status(ctx, limiter.limit(ctx, name, key=key))


@mutation
def spend_or_throw(ctx: Any, name: str, key: str | None = None) -> None:
    limiter.limit(ctx, name, key=key, throws=True)


@mutation
def spend_then_fail(ctx: Any, name: str, key: str | None = None) -> None:
    """Spend, then raise: the spend must roll back with the mutation."""
    limiter.limit(ctx, name, key=key)
    raise ConvexError("after spending")


@query
def check(ctx: Any, name: str, key: str | None = None) -> dict[str, Any]:
    return _status(ctx, limiter.check(ctx, name, key=key))


@mutation
def reset(ctx: Any, name: str, key: str | None = None) -> None:
    limiter.reset(ctx, name, key=key)


@query
def spend_in_query(ctx: Any, name: str) -> None:
    limiter.limit(ctx, name)
