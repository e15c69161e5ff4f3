"""The clocks reactive reads: ms since the epoch for functions, and commit timestamps.

`now_ms()` feeds `ctx.now`, `_creationTime` defaults, scheduled times and cron runs.
`reactive.testing.advance_time` moves it forward (process-wide) to make scheduled functions and
crons come due without waiting; in production the offset is always zero.

`next_ts()` issues the timestamps the sync protocol compares (Transition and MutationResponse
`ts`, `/api/query_ts`): nanoseconds since the epoch, strictly increasing in the order they are
issued in this process (a hybrid logical clock: the wall clock, or one past the last value when
the wall clock has not moved on or went back). `observe_ts()` moves it past a timestamp another
process issued (Connect's `maxObservedTimestamp`, `/api/query_at_ts`), within `MAX_AHEAD_NS` of
the wall clock.

`timeline` ties these timestamps to database snapshots exactly, with nothing else on the server
able to hold them back (docs/architecture.md, "Timestamps"): each listener tick takes its
snapshot under `timeline.snapshot()`, which labels it with a fresh ts; a committed mutation gets
`timeline.stamp(xid)`: the label of the first recorded snapshot that sees its transaction, or a
fresh ts if none does yet. So a snapshot's label is at least a mutation's ts if and only if the
snapshot sees the mutation.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

_offset_ms = 0.0

#: How far ahead of this process's wall clock an observed timestamp may move the clock: another
#: server's clock may run ahead by this much; anything further is not trusted (see observe_ts).
MAX_AHEAD_NS = 60 * 1_000_000_000

_ts_lock = threading.Lock()
_last_ts = 0


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


def next_ts() -> int:
    """A new timestamp, greater than every one issued or observed before in this process."""
    global _last_ts
    with _ts_lock:
        _last_ts = max(_last_ts + 1, time.time_ns())
        return _last_ts


def observe_ts(ts: int) -> bool:
    """Make later timestamps greater than ``ts`` (issued elsewhere). Refused (False) when ``ts``
    lies more than `MAX_AHEAD_NS` beyond the wall clock: a client cannot push the clock of every
    socket in the process far ahead; the caller keeps such a timestamp to itself."""
    global _last_ts
    if ts > time.time_ns() + MAX_AHEAD_NS:
        return False
    with _ts_lock:
        _last_ts = max(_last_ts, ts)
    return True


def visible(xid: int, snapshot: str) -> bool:
    """Whether committed transaction ``xid`` is visible in ``snapshot`` (a ``pg_snapshot``'s
    text, ``xmin:xmax:xip,...``), as Postgres' ``pg_visible_in_snapshot`` decides it."""
    xmin, xmax, xip = snapshot.split(":")
    x = int(xid)
    if x < int(xmin):
        return True
    if x >= int(xmax):
        return False
    return not xip or str(x) not in xip.split(",")


class Timeline:
    """Snapshot labels and mutation stamps of this process, kept consistent with each other.

    A label is issued and its snapshot taken while holding the lock, so a stamp (which takes the
    lock too) never races a snapshot whose contents it cannot know yet. Snapshots taken under the
    lock one after another only grow, so the ones that see a committed transaction are a suffix
    of the recorded ones: its stamp is the label of the first of them.
    """

    KEEP = 4096  # recent snapshots searched by stamp(); older ones saw every recent commit

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: deque[tuple[int, str]] = deque(maxlen=self.KEEP)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Label a snapshot: the body takes it and sets ``.text``; it is recorded on success."""
        with self._lock:
            taken = Snapshot(next_ts())
            yield taken
            if taken.text is not None:
                self._recent.append((taken.ts, taken.text))

    def stamp(self, xid: int | None, wait_seconds: float = 1.0) -> int:
        """The ts of a committed mutation whose transaction id is ``xid`` (None: it wrote
        nothing; a fresh ts, so the next snapshot, taken after it, answers it)."""
        if xid is None:
            return next_ts()
        if not self._lock.acquire(timeout=wait_seconds):
            # a snapshot is stuck (the database is failing): a fresh ts is still safe for
            # read-your-writes, only not exact (the stuck snapshot may show the write earlier)
            return next_ts()
        try:
            if self._recent and visible(xid, self._recent[0][1]):
                return self._recent[0][0]  # an old transaction (a replay): seen by them all
            first = None
            for ts, text in reversed(self._recent):  # usually a few: commits are recent
                if not visible(xid, text):
                    break
                first = ts
            return first if first is not None else next_ts()
        finally:
            self._lock.release()


class Snapshot:
    __slots__ = ("ts", "text")

    def __init__(self, ts: int) -> None:
        self.ts = ts
        self.text: str | None = None


timeline = Timeline()
