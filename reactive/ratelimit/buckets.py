"""The pure arithmetic of a rate limit: a shard's ``(value, ts)`` state after spending tokens.

No database, no clock: the caller passes the stored state (None if there is none yet), the
per-shard limit, ``now`` (ms) and the count. A token bucket refills continuously
(``rate / period`` tokens a ms, capped at its capacity) and its ``ts`` is the last update; a fixed
window refills by ``rate`` at each window boundary and its ``ts`` is the current window's start.
A negative value after spending means the tokens are not there yet; ``retry_after`` (ms) says
when they will be.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .definitions import FixedWindow, Limit


@dataclass(frozen=True)
class BucketState:
    value: float
    ts: float


@dataclass(frozen=True)
class Spend:
    """The state after spending, and when the shortfall (if any) will have refilled."""

    value: float
    ts: float
    retry_after: float | None

    def allowed(self, limit: Limit, reserve: bool) -> bool:
        """Whether this spend may be written: nothing owed, or a reservation within bounds."""
        if self.value >= 0:
            return True
        if not reserve:
            return False
        return limit.max_reserved is None or -self.value <= limit.max_reserved


def initial(limit: Limit, now: float, rng: random.Random) -> BucketState:
    """A full shard: a token bucket starting now, a fixed window at ``start`` or a random phase."""
    if isinstance(limit, FixedWindow):
        if limit.start is not None:
            return BucketState(limit.max, limit.start)
        return BucketState(limit.max, now - math.floor(rng.random() * limit.period))
    return BucketState(limit.max, now)


def spend(state: BucketState, limit: Limit, now: float, count: float) -> Spend:
    """Refill ``state`` up to ``now``, then take ``count`` tokens (0 to just look)."""
    if isinstance(limit, FixedWindow):
        windows = max(0, math.floor((now - state.ts) / limit.period))  # none before `start`
        value = min(state.value + limit.rate * windows, limit.max) - count
        ts = state.ts + windows * limit.period
        retry_after = None
        if value < 0:
            # Tokens arrive at window boundaries: wait for enough whole windows.
            needed = math.ceil(-value / limit.rate)
            retry_after = ts + needed * limit.period - now
        return Spend(value, ts, retry_after)
    per_ms = limit.rate / limit.period
    value = min(state.value + (now - state.ts) * per_ms, limit.max) - count
    return Spend(value, now, -value / per_ms if value < 0 else None)
