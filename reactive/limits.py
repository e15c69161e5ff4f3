"""Per-call budgets: documents and bytes read and written, index ranges, and time.

One `Budget` is shared by a function and everything it calls in the same transaction (nested
`ctx.run_query` / `ctx.run_mutation`), as in Convex. Each charge checks its limit and raises
`LimitExceeded` naming the function, the limit and the figures. Sizes are approximate (the size of
the document's values), cheap enough to count on every read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .conf import Limits
from .errors import LimitExceeded


def approx_size(value: Any) -> int:
    """Approximate encoded size of a value in bytes (strings by length, numbers as 8)."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) + 2
    if isinstance(value, Mapping):
        return 2 + sum(len(k) + 3 + approx_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 2 + sum(approx_size(v) + 1 for v in value)
    return 8


@dataclass
class Budget:
    path: str
    limits: Limits
    seconds: float
    started: float = field(default_factory=time.monotonic)
    documents_read: int = 0
    bytes_read: int = 0
    documents_written: int = 0
    bytes_written: int = 0
    index_ranges: int = 0
    #: Seconds spent in database statements (see `timing`): not the function's own time.
    database_seconds: float = 0.0

    def timing(self, execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        """An ``execute_wrapper``: time in the database counts against ``database_seconds``,
        not against the function's time, as Convex counts user time apart from system time. A
        mutation that waits out two row locks of concurrent writers has not run for that long."""
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            self.database_seconds += time.monotonic() - started

    def _over(self, what: str, used: float, limit: float, hint: str) -> None:
        raise LimitExceeded(f"{self.path}: {what} limit exceeded ({used:g} > {limit:g}). {hint}")

    def check_time(self) -> None:
        elapsed = time.monotonic() - self.started - self.database_seconds
        if elapsed > self.seconds:
            self._over(
                "execution time (s)",
                round(elapsed, 3),
                self.seconds,
                "Do less work per call, or move slow work to an action.",
            )
        if self.database_seconds > self.limits.database_seconds:
            self._over(
                "database time (s)",
                round(self.database_seconds, 3),
                self.limits.database_seconds,
                "Make fewer or cheaper database calls, or split the work over several calls.",
            )

    def charge_range(self) -> None:
        self.index_ranges += 1
        if self.index_ranges > self.limits.index_ranges:
            self._over(
                "index ranges read",
                self.index_ranges,
                self.limits.index_ranges,
                "Read fewer ranges (db.get / db.query calls) in one function.",
            )
        self.check_time()

    def charge_read(self, documents: int, size: int) -> None:
        self.documents_read += documents
        self.bytes_read += size
        if self.documents_read > self.limits.documents_read:
            self._over(
                "documents read",
                self.documents_read,
                self.limits.documents_read,
                "Use an index range or paginate instead of reading everything.",
            )
        if self.bytes_read > self.limits.bytes_read:
            self._over(
                "bytes read",
                self.bytes_read,
                self.limits.bytes_read,
                "Read fewer or smaller documents.",
            )

    def charge_write(self, size: int) -> None:
        self.documents_written += 1
        self.bytes_written += size
        if self.documents_written > self.limits.documents_written:
            self._over(
                "documents written",
                self.documents_written,
                self.limits.documents_written,
                "Split the work over several mutations.",
            )
        if self.bytes_written > self.limits.bytes_written:
            self._over(
                "bytes written",
                self.bytes_written,
                self.limits.bytes_written,
                "Write fewer or smaller documents.",
            )
        self.check_time()

    def docs_left(self) -> int:
        return max(0, self.limits.documents_read - self.documents_read)
