"""Run a callable in one transaction at a chosen isolation level, retrying conflicts.

Serialization failures (40001), deadlocks (40P01) and lock waits over `lock_timeout` (55P03) are
retried with bounded, full-jitter exponential backoff (`RetryPolicy`); a call that has waited for
its turn in its function's queue retries for a bounded time instead (see `run_in_transaction`).
The body is re-run from scratch each time, so it must be deterministic apart from the database
(functions get `ctx.now` and `ctx.random` for that). Postgres may raise these errors at COMMIT,
which is why the whole `atomic()` block sits inside the retry loop.
If the caller is already inside a transaction (a nested `ctx.run_mutation`, or a test wrapped in
one), the body runs in a savepoint instead: its writes roll back alone if it raises, and any retry
belongs to the outermost transaction. This module does not know what a query or mutation is.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, connections, transaction

from ..conf import RetryPolicy
from ..errors import RetriesExhausted as RetriesExhausted  # re-exported: old import path
from ..errors import RetryTransaction as RetryTransaction
from .begin import begin

T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
#: A unique violation (23505) can be a race, not a bug: two transactions both find no row with
#: a key and both insert it (Postgres reports 40001 only when the losing transaction read the
#: key through the unique index itself). Retrying lets the loser see the winner's row; a
#: genuine duplicate fails the same way again, so these are retried only this many times.
RACE_SQLSTATES = {"23505": 2}

#: A serializable writer reads through indexes where it can: a sequential scan takes a
#: predicate lock on the whole table, so two calls writing different rows of a table small
#: enough to be scanned conflict, retry, and once retried enough queue behind each other
#: (`_Queue`); an index scan locks the index range and the rows it read, as precise as the read.
INDEX_SCANS = "SET LOCAL enable_seqscan = off"

LEVELS = {
    "serializable": "SERIALIZABLE",
    "repeatable_read": "REPEATABLE READ",
    "read_committed": "READ COMMITTED",
}


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE behind a (possibly wrapped) database error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RetryTransaction):
            return seen.sqlstate
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if state:
            return str(state)
        seen = seen.__cause__ or seen.__context__
    return None


def is_retryable(exc: BaseException) -> bool:
    return sqlstate_of(exc) in RETRYABLE_SQLSTATES


def in_transaction(using: str) -> bool:
    return connections[using].in_atomic_block


def run_in_transaction(
    body: Callable[[int], T],
    *,
    using: str,
    isolation: str,
    read_only: bool = False,
    policy: RetryPolicy,
    timeout_seconds: float | None = None,
    setup: str | None = None,
    queue_key: str | None = None,
    savepoint: bool = True,
) -> tuple[T, int]:
    """Run ``body(attempt)`` in a transaction; return its result and the number of attempts.

    ``setup`` is more SQL to run first, in the same round trip (e.g. ``SET LOCAL`` flags).
    ``queue_key``: after `QUEUE_AFTER` conflicts, further attempts first take a session-level
    advisory lock on this key (outside the transaction, so the snapshot is taken after the
    wait). Retries of one hot function then run one at a time instead of conflicting with each
    other until their attempts run out: under contention, every caller makes progress.
    Attempts made with the lock held (the call's turn) do not count against
    ``policy.max_attempts``: they can only lose to calls that are not queued yet, each of which
    queues in turn once it conflicts, so the holder is bound to win soon. They retry at once
    (the queue waits behind them) for at most ``policy.queued_seconds`` from the turn's start.
    Inside a transaction the caller opened, the body runs once, in a savepoint of its own
    unless ``savepoint`` is False (then a database error leaves the caller's transaction failed:
    the caller must look, as the listener does).
    """
    if in_transaction(using):
        if not savepoint:
            return body(1), 1
        with transaction.atomic(using=using):
            return body(1), 1
    queued = _Queue(using, queue_key)
    try:
        return _run(body, using, isolation, read_only, policy, timeout_seconds, setup, queued)
    finally:
        queued.release()


#: Conflicts after which a call with a queue key waits its turn (see `run_in_transaction`).
QUEUE_AFTER = 2
#: After a call of this process had to queue, its key stays hot this long: other calls with
#: that key queue from their first attempt instead of racing the queued retries.
HOT_SECONDS = 1.0
_hot_until: dict[str, float] = {}


class _Queue:
    def __init__(self, using: str, key: str | None) -> None:
        self.using, self.key, self.held = using, key, False
        self.since = 0.0  # when the lock was granted: the start of the call's turn

    def join(self, attempt: int) -> None:
        if self.key is None or self.held:
            return
        contended = attempt > QUEUE_AFTER
        if not contended and _hot_until.get(self.key, 0.0) < time.monotonic():
            return
        with connections[self.using].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [self.key])
        self.held, self.since = True, time.monotonic()
        if contended:
            self.heat()

    def heat(self) -> None:
        """Calls of this key conflict: queue them from their first attempt for a while."""
        if self.key is not None:
            _hot_until[self.key] = time.monotonic() + HOT_SECONDS

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            with connections[self.using].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [self.key])
        except DatabaseError:
            connections[self.using].close()  # a session lock must not outlive its holder


def _run(
    body: Callable[[int], T],
    using: str,
    isolation: str,
    read_only: bool,
    policy: RetryPolicy,
    timeout_seconds: float | None,
    setup: str | None,
    queued: _Queue,
) -> tuple[T, int]:
    level = LEVELS[isolation] + (" READ ONLY" if read_only else "")
    statements: list[str] = []
    if isolation == "serializable" and not read_only:
        statements.append(INDEX_SCANS)
    if timeout_seconds is not None:
        statements.append(f"SET LOCAL statement_timeout = {max(1, int(timeout_seconds * 1000))}")
    if not read_only and policy.lock_timeout_ms:
        statements.append(f"SET LOCAL lock_timeout = {max(1, int(policy.lock_timeout_ms))}")
    if setup:
        statements.append(setup)
    attempt = 0
    reconnected = False
    while True:
        attempt += 1
        started = False
        try:
            queued.join(attempt)
            with transaction.atomic(using=using):
                begin(using, level, statements)  # BEGIN and the flags: one round trip
                started = True
                result = body(attempt)
            return result, attempt
        except DatabaseError as exc:
            if not started and not reconnected:
                # Our own first statement failed: a persistent connection the database has
                # since closed (restart, idle kill). Nothing has run yet, so one retry on a
                # fresh connection is safe.
                connections[using].close()
                reconnected = True
                attempt -= 1
                continue
            _retry_or_raise(exc, attempt, policy, queued)
        except RetryTransaction as exc:
            _retry_or_raise(exc, attempt, policy, queued)


def _retry_or_raise(exc: BaseException, attempt: int, policy: RetryPolicy, queued: _Queue) -> None:
    state = sqlstate_of(exc)
    if state in RACE_SQLSTATES and attempt <= RACE_SQLSTATES[state]:
        time.sleep(policy.backoff_seconds(attempt, random.random()))
        return
    if state not in RETRYABLE_SQLSTATES:
        raise exc
    if queued.held:
        # The call's turn: it lost to a call that is not queued yet. Not counted; no growing
        # backoff either, since every queued call waits behind this one.
        if time.monotonic() - queued.since >= policy.queued_seconds:
            raise RetriesExhausted(attempt, state or "", policy.queued_seconds) from None
        queued.heat()
        time.sleep(policy.backoff_seconds(1, random.random()))
        return
    if attempt >= policy.max_attempts:
        raise RetriesExhausted(attempt, state or "") from None
    time.sleep(policy.backoff_seconds(attempt, random.random()))
