"""`RateLimiter`: spend, check and reset rate limits in the calling function's transaction.

Each shard of each key is one `RateLimitState` row, read and written with the ORM on the
connection the function's ``ctx.db`` uses, inside its transaction: a mutation that raises after
``limit`` rolls the spend back with everything else. ``limit`` locks the rows it reads
(``SELECT … FOR UPDATE``, taken in shard order), so concurrent spenders of one shard queue on
the row lock under either isolation a mutation runs at (under SERIALIZABLE the loser of a race
is retried by the executor; under ``select_for_update`` mutations it waits and re-reads).
A missing row is inserted with ``ON CONFLICT DO NOTHING`` and then locked, so two first callers
of a key do not fail on the unique constraint.

A sharded limit (``shards=N``) spreads a hot key over N rows, each with 1/N of the rate and
capacity; a call picks a shard with ``ctx.random`` (seeded once per call, so a retried mutation
picks the same one). With three shards or more it also reads a second one, as the Convex
component does: it spends from whichever can pay (the fuller if both), or from both together,
balanced, when neither can alone.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConfigurationError, ConvexError, NotAllowedHere, RetryTransaction
from .buckets import BucketState, Spend, initial, spend
from .definitions import Limit, per_shard, validate

#: With fewer shards, reading a second one costs more than it balances.
MIN_CHOOSE_TWO = 3


class LimiterCtx(Protocol):
    """What the limiter needs of a query's or mutation's ctx."""

    now: float
    random: random.Random

    @property
    def db(self) -> Any: ...


@dataclass(frozen=True)
class RateLimitStatus:
    """``ok``: the tokens were (or, for ``check``, would be) granted. ``retry_after``: ms until
    they would be, when not ok; for a granted reservation, ms until the reserved tokens exist."""

    ok: bool
    retry_after: float | None = None


@dataclass
class _Shard:
    index: int
    row: Any  # a RateLimitState, or None if this shard has never been written
    state: BucketState
    result: Spend


class RateLimiter:
    """Rate limits declared in code, by name.

    Example:
        >>> limiter = RateLimiter({"send": token_bucket(rate=10, period=MINUTE, capacity=3)})
        >>> status = limiter.limit(ctx, "send", key=user_id)
        >>> if not status.ok: ...  # status.retry_after ms from now
    """

    def __init__(self, limits: Mapping[str, Limit]) -> None:
        self.limits: dict[str, Limit] = {name: validate(name, lim) for name, lim in limits.items()}

    def limit(
        self,
        ctx: LimiterCtx,
        name: str,
        *,
        key: str | None = None,
        count: float = 1,
        throws: bool = False,
        reserve: bool = False,
    ) -> RateLimitStatus:
        """Spend ``count`` tokens of ``name`` for ``key`` in this mutation's transaction.

        Not ok: nothing is spent; with ``throws`` a `ConvexError` carrying
        ``{"kind": "RateLimited", "name": name, "retryAfter": ms}`` is raised instead. With
        ``reserve`` the tokens are taken ahead of time (up to ``max_reserved``): ok, and
        ``retry_after`` says when to act.
        """
        _need_writer(ctx, "limit")
        return self._run(ctx, name, key, count, throws, reserve, write=True)

    def check(
        self,
        ctx: LimiterCtx,
        name: str,
        *,
        key: str | None = None,
        count: float = 1,
        throws: bool = False,
        reserve: bool = False,
    ) -> RateLimitStatus:
        """What ``limit`` would answer, without spending (reads only: usable in a query)."""
        return self._run(ctx, name, key, count, throws, reserve, write=False)

    def reset(self, ctx: LimiterCtx, name: str, *, key: str | None = None) -> None:
        """Forget every shard of ``name`` for ``key``: the next call finds the limit full."""
        from ..models import RateLimitState  # deferred: models need the app registry

        _need_writer(ctx, "reset")
        self._limit_named(name)
        RateLimitState.objects.using(_using(ctx)).filter(name=name, key=key or "").delete()

    # -- internals ---------------------------------------------------------------------------
    def _limit_named(self, name: str) -> Limit:
        try:
            return self.limits[name]
        except KeyError:
            raise ConfigurationError(
                f"no rate limit named {name!r}; declared: {sorted(self.limits)}"
            ) from None

    def _run(
        self,
        ctx: LimiterCtx,
        name: str,
        key: str | None,
        count: float,
        throws: bool,
        reserve: bool,
        *,
        write: bool,
    ) -> RateLimitStatus:
        limit = self._limit_named(name)
        shard_limit = per_shard(limit)
        _check_count(name, limit, shard_limit, count, reserve)
        shards = _pick_shards(limit.shards, ctx.random)
        rows = _read(ctx, shard_limit, name, key or "", shards, lock=write)
        status, updates = _decide(shard_limit, rows, shards, ctx, count, reserve)
        if write and updates:
            _write(ctx, updates)
        if throws and not status.ok:
            data = {"kind": "RateLimited", "name": name, "retryAfter": status.retry_after}
            raise ConvexError(data)
        return status


def _using(ctx: LimiterCtx) -> str:
    using = getattr(ctx.db, "using", None)
    if not isinstance(using, str):
        raise TypeError("RateLimiter needs the ctx of a query or mutation (ctx.db.using)")
    return using


def _need_writer(ctx: LimiterCtx, method: str) -> None:
    if getattr(type(ctx.db), "insert", None) is None:  # the class: a reader's __getattr__ raises
        raise NotAllowedHere(
            f"RateLimiter.{method} writes: call it from a mutation (check only reads)"
        )


def _check_count(name: str, limit: Limit, shard_limit: Limit, count: float, reserve: bool) -> None:
    """Refuse a count no shard (or pair of shards) could ever grant, as the component does."""
    factor = 1 if limit.shards < MIN_CHOOSE_TWO else 2
    most = shard_limit.max * factor
    if reserve:
        if shard_limit.max_reserved is None:
            return
        most += shard_limit.max_reserved * factor
    if count > most:
        per = f" per {limit.shards} shards" if limit.shards > 1 else ""
        raise ConfigurationError(f"rate limit {name!r}: count {count} exceeds {most:g}{per}")


def _pick_shards(shards: int, rng: random.Random) -> list[int]:
    first = rng.randrange(shards)
    if shards < MIN_CHOOSE_TWO:
        return [first]
    return [first, (first + 1 + rng.randrange(shards - 1)) % shards]


def _read(
    ctx: LimiterCtx, limit: Limit, name: str, key: str, shards: list[int], *, lock: bool
) -> dict[int, Any]:
    """The stored rows of these shards. To spend (``lock``), missing ones are inserted full
    first, then all are locked in shard order, so the rows read are the rows written."""
    from ..models import RateLimitState  # deferred: models need the app registry

    query = RateLimitState.objects.using(_using(ctx)).filter(name=name, key=key, shard__in=shards)
    if not lock:
        return {row.shard: row for row in query}
    found = set(query.values_list("shard", flat=True))
    missing = []
    for index in sorted(set(shards) - found):
        state = initial(limit, ctx.now, ctx.random)
        row = RateLimitState(name=name, key=key, shard=index, value=state.value, ts=state.ts)
        missing.append(row)
    if missing:
        # Inserted before any row is locked, so an insert never waits while holding a lock.
        # A concurrent first caller's row wins (ON CONFLICT DO NOTHING).
        RateLimitState.objects.using(_using(ctx)).bulk_create(missing, ignore_conflicts=True)
    rows = {row.shard: row for row in query.select_for_update().order_by("shard")}
    if len(rows) < len(shards):
        # Another transaction's insert of this row is not committed yet (READ COMMITTED does
        # not wait for it): start again, as after a serialization failure.
        raise RetryTransaction("40001")
    return rows


def _decide(
    limit: Limit,
    rows: dict[int, Any],
    shards: list[int],
    ctx: LimiterCtx,
    count: float,
    reserve: bool,
) -> tuple[RateLimitStatus, list[tuple[_Shard, Spend]]]:
    """The answer, and the shards to write with their new state."""

    def look(index: int) -> _Shard:
        row = rows.get(index)
        if row is None:
            state = initial(limit, ctx.now, ctx.random)
        else:
            state = BucketState(row.value, row.ts)
        return _Shard(index, row, state, spend(state, limit, ctx.now, count))

    one = look(shards[0])
    if one.row is None or len(shards) == 1:
        return _single(one, limit, reserve)
    two = look(shards[1])
    one_ok, two_ok = one.result.allowed(limit, reserve), two.result.allowed(limit, reserve)
    if one_ok and two_ok:
        return _single(one if one.result.value > two.result.value else two, limit, reserve)
    if one_ok or two_ok:
        return _single(one if one_ok else two, limit, reserve)
    # Neither can pay alone: take from both so that they end level.
    balance = one.result.value + two.result.value + count
    shared = [
        spend(s.state, limit, ctx.now, s.result.value + count - balance / 2) for s in (one, two)
    ]
    waits = [s.retry_after or 0.0 for s in shared]
    if not all(s.allowed(limit, reserve) for s in shared):
        return RateLimitStatus(False, max(waits)), []
    retry = max(waits) if any(waits) else None
    return RateLimitStatus(True, retry), [(one, shared[0]), (two, shared[1])]


def _single(
    shard: _Shard, limit: Limit, reserve: bool
) -> tuple[RateLimitStatus, list[tuple[_Shard, Spend]]]:
    if not shard.result.allowed(limit, reserve):
        return RateLimitStatus(False, shard.result.retry_after), []
    return RateLimitStatus(True, shard.result.retry_after), [(shard, shard.result)]


def _write(ctx: LimiterCtx, updates: list[tuple[_Shard, Spend]]) -> None:
    using = _using(ctx)
    for shard, result in updates:
        shard.row.value, shard.row.ts = result.value, result.ts
        shard.row.save(using=using, update_fields=["value", "ts"])
