"""The listener's database work: every call runs on the listener's one thread and connection.

A tick is `begin` (open a REPEATABLE READ READ ONLY transaction, take its snapshot labelled with
a fresh ts under the timeline's lock, read the change-log rows committed since the previous
tick's snapshot), then `run` (re-run subscriptions inside that snapshot, a savepoint each, and
end the transaction), or `rollback` if the tick fails between the two; `tick` does the three in
one call, choosing what to run from the writes with a function the listener gives it. Re-runs
are results only if the connection survived them; otherwise `run` rolls back and raises.
`maintain` records how far this listener has read and prunes what no listener needs; `close`
forgets the listener.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import OperationalError, close_old_connections, connection, connections, transaction
from psycopg.pq import TransactionStatus

from .. import clock
from ..changelog import changes
from ..conf import reactive_settings
from ..functions.executor import execute
from ..functions.ledger import prune_responses
from ..functions.outcome import CallOptions, Outcome
from ..functions.registry import Kind
from ..readset import DocWrite
from .subscriptions import Subscription


class ListenerDatabase:
    """One listener's connection work (``using``; ``listener_id`` names its heartbeat row)."""

    def __init__(self, using: str, listener_id: str) -> None:
        self.using = using
        self.listener_id = listener_id
        self._atomic: Any = None

    def begin(self, since: str | None) -> tuple[str, int, list[DocWrite]]:
        """Open the tick's transaction: its snapshot, that snapshot's ts, and the writes
        committed after snapshot ``since`` (the previous tick's) and visible in it."""
        self._atomic = transaction.atomic(using=self.using)
        self._atomic.__enter__()
        try:
            # The re-runs share this transaction (a savepoint each): no statement of one
            # subscription may hold up every other socket's updates for longer than a function
            # may run.
            timeout_ms = max(1, int(reactive_settings.LIMITS.function_seconds * 1000))
            with connections[self.using].cursor() as cursor:
                cursor.execute(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                    f"SET LOCAL statement_timeout = {timeout_ms}"
                )
            # the first statement that takes a snapshot, labelled with this tick's ts
            with clock.timeline.snapshot() as taken:
                taken.text = snapshot = changes.current_snapshot(self.using)
            ts = taken.ts
            writes = changes.read_changes(self.using, since) if since else []
            return snapshot, ts, writes
        except BaseException:
            self.rollback()
            raise

    def tick(
        self, since: str | None, pick: Callable[[list[DocWrite]], list[Subscription]]
    ) -> tuple[str, int, list[Subscription], list[Outcome]]:
        """A whole tick in one call (one hop to this thread): `begin`, ``pick`` the
        subscriptions to re-run from the writes read, `run` them. Returns the snapshot, its ts,
        the subscriptions run and their outcomes; on any error the transaction is rolled
        back and the error raised."""
        snapshot, ts, writes = self.begin(since)
        try:
            subs = pick(writes)
        except BaseException:
            self.rollback()
            raise
        return snapshot, ts, subs, self.run(subs)

    def run(self, subs: list[Subscription]) -> list[Outcome]:
        """Re-run ``subs`` in the open snapshot, then end the transaction."""
        try:
            results = [
                execute(
                    sub.path,
                    sub.args,
                    identity=sub.identity,
                    from_client=True,
                    kind=Kind.QUERY,
                    using=self.using,
                    options=CallOptions(journal=sub.journal),
                )
                for sub in subs
            ]
        except BaseException:
            self.rollback()
            raise
        conn = connections[self.using]
        raw = conn.connection
        if (
            raw is None
            or raw.closed
            or conn.needs_rollback
            or conn.closed_in_transaction
            or raw.info.transaction_status == TransactionStatus.INERROR
        ):
            # the connection broke during the re-runs: their errors are not results
            self.rollback()
            raise OperationalError("the listener's connection was lost during a tick")
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(None, None, None)
        return results

    def rollback(self) -> None:
        atomic, self._atomic = self._atomic, None
        if atomic is not None:
            try:
                atomic.__exit__(RuntimeError, RuntimeError("rollback"), None)
            except Exception:
                pass
        conn = connections[self.using]
        if conn.in_atomic_block or not conn.is_usable():
            self.reset_connection()

    def reset_connection(self) -> None:
        """Drop this thread's connection wrapper: after the database went away mid-transaction,
        Django's wrapper can stay marked as inside a transaction and refuse to reconnect."""
        conn = connections[self.using]
        try:
            if conn.connection is not None:
                conn.connection.close()
        except Exception:
            pass
        del connections[self.using]

    def maintain(self, snapshot: str, retention_seconds: float, result_seconds: float) -> None:
        """Record this listener's position (``snapshot``); prune the change-log rows every
        listener has read (or older than ``retention_seconds``) and stored mutation responses
        older than ``result_seconds``."""
        changes.heartbeat(self.using, self.listener_id, snapshot)
        changes.prune(self.using, stale_seconds=60.0, retention_seconds=retention_seconds)
        prune_responses(self.using, result_seconds)

    def close(self) -> None:
        try:
            changes.forget(self.using, self.listener_id)
        except Exception:
            pass
        close_old_connections()
        connection.close()
