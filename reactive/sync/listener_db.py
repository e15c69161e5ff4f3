"""The listener's database work: every call runs on the listener's one thread and connection.

A tick is `begin` (open a REPEATABLE READ READ ONLY transaction, take its snapshot labelled with
a fresh ts under the timeline's lock, read the change-log rows committed since the previous
tick's snapshot), then `run` (re-run subscriptions inside that snapshot and end the transaction),
or `rollback` if the tick fails between the two; `tick` does the three in one call, choosing
what to run from the writes with a function the listener gives it. Re-runs are results only if
the connection survived them; otherwise `run` rolls back and raises. A tick of one re-run is
three round trips: BEGIN with the snapshot and the writes, the re-run's read, COMMIT.
`maintain` records how far this listener has read and prunes what no listener needs; `close`
forgets the listener.
"""

from __future__ import annotations

import logging
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

logger = logging.getLogger("reactive.sync")


class ListenerDatabase:
    """One listener's connection work (``using``; ``listener_id`` names its heartbeat row)."""

    def __init__(self, using: str, listener_id: str) -> None:
        self.using = using
        self.listener_id = listener_id
        self._atomic: Any = None

    def begin(self, since: str | None) -> tuple[str, int, list[DocWrite]]:
        """Open the tick's transaction: its snapshot, that snapshot's ts, and the writes
        committed after snapshot ``since`` (the previous tick's) and visible in it.

        One round trip: `changes.tick_start` sends BEGIN and its statement in one message."""
        self.finish()  # the previous tick's, if the listener did not ask for it yet
        conn = connections[self.using]
        self._atomic = transaction.atomic(using=self.using)
        self._atomic.__enter__()
        try:
            raw = conn.connection
            # The re-runs share this transaction: no statement of one subscription may hold up
            # every other socket's updates for longer than a function may run.
            timeout_ms = max(1, int(reactive_settings.LIMITS.function_seconds * 1000))
            # the first statement takes the snapshot, labelled with this tick's ts
            with clock.timeline.snapshot() as taken:
                snapshot, writes = changes.tick_start(raw, since, timeout_ms)
                taken.text = snapshot
            return snapshot, taken.ts, writes
        except BaseException:
            self.rollback()
            raise

    def tick(
        self, since: str | None, pick: Callable[[list[DocWrite]], list[Subscription]]
    ) -> tuple[str, int, list[Subscription], list[Outcome]]:
        """A whole tick in one call (one hop to this thread): `begin`, ``pick`` the
        subscriptions to re-run from the writes read, `run` them. Returns the snapshot, its ts,
        the subscriptions run and their outcomes; on any error the transaction is rolled
        back and the error raised.

        The re-runs share the transaction without a savepoint each (two round trips fewer per
        re-run), except a subscription whose run once left the transaction failed (a database
        error: a bad statement, the statement timeout). When one does, the tick is rolled back
        and run again, from a new snapshot, with a savepoint per re-run."""
        for savepoints in (False, True):
            snapshot, ts, writes = self.begin(since)
            try:
                subs = pick(writes)
            except BaseException:
                self.rollback()
                raise
            outcomes = self.run(subs, savepoints)
            if outcomes is not None:
                return snapshot, ts, subs, outcomes
        raise AssertionError("a tick with a savepoint per re-run cannot leave it failed")

    def run(self, subs: list[Subscription], savepoints: bool = True) -> list[Outcome] | None:
        """Re-run ``subs`` in the open snapshot; the transaction stays open for `finish`.
        Without ``savepoints``, None (the transaction rolled back) if a re-run left it failed."""
        conn = connections[self.using]
        results = []
        try:
            for sub in subs:
                savepoint = savepoints or sub.savepoint
                options = CallOptions(journal=sub.journal, savepoint=savepoint)
                results.append(
                    execute(
                        sub.path,
                        sub.args,
                        identity=sub.identity,
                        from_client=True,
                        kind=Kind.QUERY,
                        using=self.using,
                        options=options,
                    )
                )
                if not savepoint and _failed(conn):
                    sub.savepoint = True  # its runs get a savepoint from now on
                    self.rollback()
                    return None
        except BaseException:
            self.rollback()
            raise
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
        return results

    def finish(self) -> None:
        """End a tick's transaction (a read-only one: its results were complete before).
        The listener's thread runs it right after handing the results to the event loop, so
        that the loop does not wait for the COMMIT's round trip; the next `begin` (or
        `maintain`, `close`) ends it first anyway."""
        atomic, self._atomic = self._atomic, None
        if atomic is None:
            return
        try:
            atomic.__exit__(None, None, None)
        except Exception as exc:
            logger.warning("reactive listener: ending a tick's transaction failed (%s)", exc)
            self.reset_connection()

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
        self.finish()
        changes.heartbeat(self.using, self.listener_id, snapshot)
        changes.prune(self.using, stale_seconds=60.0, retention_seconds=retention_seconds)
        prune_responses(self.using, result_seconds)

    def close(self) -> None:
        self.finish()
        try:
            changes.forget(self.using, self.listener_id)
        except Exception:
            pass
        close_old_connections()
        connection.close()


def _failed(conn: Any) -> bool:
    """Whether ``conn``'s transaction is open but failed (a statement raised a database error)."""
    raw = conn.connection
    return raw is not None and raw.info.transaction_status == TransactionStatus.INERROR
