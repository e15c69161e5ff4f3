"""Per-process call figures: what the executor feeds after each call from outside any function.

`record` adds one call to its function's bucket for the current minute (calls, errors, retries,
conflicts, time, read and write counts) under one lock, and keeps a retried or conflicting call in
a capped ring. `take` hands everything gathered so far to the flush and starts afresh. No Django,
no I/O: the executor imports this module; `flush` writes what `take` returns.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from time import time as _time
from typing import Any

from ..errors import ConflictError

#: calls, errors, retries, conflicts, total ns, max ns, reads, writes
Figures = list[int]
CALLS, ERRORS, RETRIES, CONFLICTS, TOTAL_NS, MAX_NS, READS, WRITES = range(8)
#: (function, minute) counters kept between flushes at most; past it, new ones are dropped
MAX_BUCKETS = 20_000


@dataclass(frozen=True)
class Retried:
    """A call that needed more than one attempt, or failed on a conflict."""

    time_ms: float
    path: str
    attempts: int
    error: str


_lock = threading.Lock()
_buckets: dict[tuple[str, int], Figures] = {}
_retried: deque[Retried] = deque(maxlen=1000)


def record(outcome: Any, elapsed_ns: int) -> None:
    """Count one finished call (an `Outcome`) that took ``elapsed_ns``. Calls of a path that
    resolved to no function are not counted: their paths come from clients, unbounded."""
    if outcome.kind is None or outcome.replayed:
        return
    now = _time()
    reads, writes = outcome.reads, outcome.writes
    key = (outcome.path, int(now // 60))
    with _lock:
        figures = _buckets.get(key)
        if figures is None:
            if len(_buckets) >= MAX_BUCKETS:
                return  # nothing flushed them for hours (OBSERVE["flush_seconds"] = 0)
            figures = _buckets[key] = [0, 0, 0, 0, 0, 0, 0, 0]
        figures[CALLS] += 1
        figures[TOTAL_NS] += elapsed_ns
        if elapsed_ns > figures[MAX_NS]:
            figures[MAX_NS] = elapsed_ns
        if reads is not None:
            figures[READS] += len(reads.reads)
        if writes is not None:
            figures[WRITES] += len(writes.writes)
        if outcome.error is not None or outcome.attempts > 1:
            _unusual(outcome, figures, now)


def _unusual(outcome: Any, figures: Figures, now: float) -> None:
    """A failed or retried call (under the lock)."""
    error = outcome.error
    if error is not None:
        figures[ERRORS] += 1
    conflict = isinstance(error, ConflictError)
    if outcome.attempts > 1 or conflict:
        figures[RETRIES] += max(0, outcome.attempts - 1)
        figures[CONFLICTS] += conflict
        # empty: the call committed in the end
        message = "" if error is None else str(getattr(error, "message", error))
        _retried.append(Retried(now * 1000.0, outcome.path, outcome.attempts, message))


def take() -> tuple[dict[tuple[str, int], Figures], list[Retried]]:
    """Everything recorded since the last `take` (buckets by (path, minute), retried calls)."""
    global _buckets
    with _lock:
        buckets, _buckets = _buckets, {}
        retried = list(_retried)
        _retried.clear()
    return buckets, retried


def put_back(buckets: dict[tuple[str, int], Figures], retried: list[Retried]) -> None:
    """Return figures a failed flush could not write, to be written by the next one (within
    the cap: a database down for long loses the counters past it, and the oldest calls)."""
    with _lock:
        for key, figures in buckets.items():
            mine = _buckets.get(key)
            if mine is None:
                if len(_buckets) < MAX_BUCKETS:
                    _buckets[key] = figures
                continue
            for i in (CALLS, ERRORS, RETRIES, CONFLICTS, TOTAL_NS, READS, WRITES):
                mine[i] += figures[i]
            mine[MAX_NS] = max(mine[MAX_NS], figures[MAX_NS])
        newer = list(_retried)  # recorded while the flush failed: they stay, the oldest go
        _retried.clear()
        _retried.extend(retried + newer)


def reset() -> None:
    """Forget everything, with a fresh lock (a forked child: the parent's lock may have been
    held by another thread at the fork)."""
    global _lock, _buckets
    _lock = threading.Lock()
    _buckets = {}
    _retried.clear()
