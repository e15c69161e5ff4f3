"""The one clock reactive reads: ms since the epoch, which tests may move forward.

`ctx.now`, `_creationTime` defaults, scheduled times and cron runs all come from `now_ms()`.
`reactive.testing.advance_time` moves it forward (process-wide) to make scheduled functions and
crons come due without waiting; in production the offset is always zero.
"""

from __future__ import annotations

import time

_offset_ms = 0.0


def now_ms() -> float:
    return time.time() * 1000.0 + _offset_ms


def advance(ms: float) -> None:
    """Move the clock forward by ``ms`` (tests only)."""
    global _offset_ms
    if ms < 0:
        raise ValueError("the clock only moves forward")
    _offset_ms += ms


def reset() -> None:
    global _offset_ms
    _offset_ms = 0.0
