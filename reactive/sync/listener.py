"""The change listener: one per process, the only place subscriptions run.

Each tick, on one dedicated thread and one database connection:

1. open a REPEATABLE READ READ ONLY transaction; its snapshot S is this tick's world;
2. read the change-log rows committed after the previous tick's snapshot and visible in S (by
   transaction visibility, not by sequence number, so a transaction that commits late is never
   skipped);
3. re-run, inside S, every subscription those writes touch and every new one, each distinct
   (function, args, identity, journal) once;
4. back on the event loop: store the results and give each affected socket one Transition whose
   ts was issued (`clock.next_ts()`) just before S was taken. A mutation's ts is issued after its
   COMMIT returned, so a Transition ts at or past it comes from a snapshot taken after that
   commit, which sees it; and no other transaction on the server can hold a ts back.

Wake-ups: the executor after its own commits (in-process, no NOTIFY on that path when a
cross-process Channels layer is configured), Postgres NOTIFY from the capture trigger (writes made
anywhere else), the Channels layer (other processes' executors), and a poll every
`SYNC.poll_seconds` as a safety net. Wake-ups are hints: the change log is the truth, so a lost
NOTIFY, a dropped LISTEN connection or a database restart delays an update but never loses one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import OperationalError, close_old_connections, connection, connections, transaction
from psycopg.pq import TransactionStatus

from .. import clock
from ..changelog import changes
from ..conf import reactive_settings
from ..functions import executor
from ..functions.executor import execute
from ..functions.ledger import prune_responses
from ..functions.outcome import CallOptions, Outcome
from ..functions.registry import Kind
from .session import SessionState, SyncSession, Work
from .subscriptions import Subscription, SubscriptionManager

logger = logging.getLogger("reactive.sync")

CHANNEL_GROUP = "reactive.listeners"
MAINTENANCE_SECONDS = 10.0
RECHECK_SECONDS = 0.005


class Listener:
    """The per-process subscription engine. Get it with `Listener.current()`."""

    _instances: dict[asyncio.AbstractEventLoop, Listener] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop, using: str = "default") -> None:
        self.loop = loop
        self.using = using
        self.manager = SubscriptionManager()
        self.id = str(uuid.uuid4())
        self._wake = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reactive-listener")
        self._snapshot: str | None = None
        self.ts = 0  # the last completed tick's timestamp (issued just before its snapshot)
        self._tasks: list[asyncio.Task[Any]] = []
        self._atomic: Any = None
        self._hook: Callable[[Outcome], None] | None = None
        self.ticks = 0
        self.executions = 0  # subscription runs, for tests and benchmarks
        self._last_maintenance = 0.0

    @classmethod
    def current(cls) -> Listener:
        """The running loop's listener, started on first use."""
        loop = asyncio.get_running_loop()
        listener = cls._instances.get(loop)
        if listener is None:
            listener = cls._instances[loop] = Listener(loop)
            listener.start()
        return listener

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        interval = reactive_settings.SYNC.gil_switch_interval_ms
        if interval is not None and interval / 1000 < sys.getswitchinterval():
            sys.setswitchinterval(interval / 1000)
        self._hook = lambda outcome: self.wake_threadsafe()
        executor.after_commit.append(self._hook)
        self._tasks = [
            self.loop.create_task(self._run(), name="reactive-ticks"),
            self.loop.create_task(self._listen_notify(), name="reactive-notify"),
        ]
        if not reactive_settings.notify_executor_writes:
            self._tasks.append(self.loop.create_task(self._listen_layer(), name="reactive-layer"))

    async def stop(self) -> None:
        if self._hook in executor.after_commit:
            executor.after_commit.remove(self._hook)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._in_thread(self._close)
        self._thread.shutdown(wait=False)
        Listener._instances.pop(self.loop, None)

    def wake(self) -> None:
        self._wake.set()

    def wake_threadsafe(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop is closed
            pass

    # -- sessions -----------------------------------------------------------------------
    def attach(self, session: SyncSession) -> None:
        self.manager.sessions.add(session)
        session.flag = self.manager.flag
        if session.dirty:
            self.manager.flag(session)

    def detach(self, session: SyncSession) -> None:
        session.state = SessionState.CLOSED
        self.manager.release_all(session)

    # -- the loop -----------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = 0.05
        poll = reactive_settings.SYNC.poll_seconds
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=poll)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.tick()
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("reactive listener tick failed; retrying in %.2fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._wake.set()

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self.loop.run_in_executor(self._thread, fn, *args)

    async def tick(self) -> None:
        """One snapshot: read changes, re-run what they touch and what is new, notify sockets."""
        flagged = self.manager.take_flagged()
        works = {s: s.begin() for s in flagged if s.dirty and s.state is SessionState.OPEN}
        try:
            snapshot, ts, writes = await self._in_thread(self._begin)
        except BaseException:
            self._owe_again(flagged, works)
            raise
        try:
            due = self.manager.affected(writes) | set(self.manager.stale())
            for work in works.values():
                due.update(s for s in work.queries.values() if s.stale and not s.static)
            runs = [sub for sub in due if not sub.static]
            outcomes = await self._in_thread(self._run_all, runs)
        except BaseException:
            self._owe_again(flagged, works)
            await self._in_thread(self._rollback)
            raise
        self._snapshot, self.ts = snapshot, ts
        self.ticks += 1
        self.executions += len(runs)
        for sub, outcome in zip(runs, outcomes, strict=True):
            self.manager.apply(sub, outcome)
        # the sockets this tick began with, and those flagged while it ran
        for session in flagged | self.manager.take_flagged():
            if session.state is SessionState.OPEN:
                self._settle(session, works.get(session), ts, snapshot)
                if session.dirty:  # it changed while the tick ran: the next one looks again
                    self.manager.flag(session)
        await self._maintain()

    def _owe_again(self, flagged: set[SyncSession], works: dict[SyncSession, Work]) -> None:
        """A tick failed: what it owed these sockets is owed by the next one."""
        for session in flagged:
            if session in works:
                session.dirty = True
            else:
                self.manager.flag(session)

    def _settle(self, session: SyncSession, work: Work | None, ts: int, snapshot: str) -> None:
        """Hand a socket the result of this tick, if it is owed one and it is complete."""
        committing = session.committing
        if committing is not None and clock.visible(committing, snapshot):
            # This snapshot shows the socket's own mutation, whose MutationResponse is not sent
            # yet: a Transition now would reach the client first, and show the write beside its
            # optimistic update. The response is followed by a tick that covers it.
            return
        if work is None:
            if not session.dirty and not session.owed:
                return
            work = session.begin()  # it changed during the tick: its current state
        if any(sub.stale for sub in work.queries.values()):
            session.dirty = True  # queries added during this tick run in the next one
            self._wake.set()
            return
        session.complete(work, ts)
        if session.owed and session.min_ts > session.label(ts):
            # Its mutation committed after this tick's ts was issued: the next tick covers it.
            self.manager.flag(session)
            self.loop.call_later(RECHECK_SECONDS, self._wake.set)
        if session.wakeup is not None:
            session.wakeup()

    # -- database work (listener thread) ------------------------------------------------
    def _begin(self) -> tuple[str, int, list[Any]]:
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
            writes = changes.read_changes(self.using, self._snapshot) if self._snapshot else []
            return snapshot, ts, writes
        except BaseException:
            self._rollback()
            raise

    def _run_all(self, subs: list[Subscription]) -> list[Outcome]:
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
            self._rollback()
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
            self._rollback()
            raise OperationalError("the listener's connection was lost during a tick")
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(None, None, None)
        return results

    def _rollback(self) -> None:
        atomic, self._atomic = self._atomic, None
        if atomic is not None:
            try:
                atomic.__exit__(RuntimeError, RuntimeError("rollback"), None)
            except Exception:
                pass
        conn = connections[self.using]
        if conn.in_atomic_block or not conn.is_usable():
            self._reset_connection()

    def _reset_connection(self) -> None:
        """Drop this thread's connection wrapper: after the database went away mid-transaction,
        Django's wrapper can stay marked as inside a transaction and refuse to reconnect."""
        conn = connections[self.using]
        try:
            if conn.connection is not None:
                conn.connection.close()
        except Exception:
            pass
        del connections[self.using]

    def _close(self) -> None:
        try:
            changes.forget(self.using, self.id)
        except Exception:
            pass
        close_old_connections()
        connection.close()

    async def _maintain(self) -> None:
        now = self.loop.time()
        if now - self._last_maintenance < MAINTENANCE_SECONDS or self._snapshot is None:
            return
        self._last_maintenance = now
        sync = reactive_settings.SYNC
        snapshot = self._snapshot

        def work() -> None:
            changes.heartbeat(self.using, self.id, snapshot)
            changes.prune(
                self.using, stale_seconds=60.0, retention_seconds=sync.change_log_retention_seconds
            )
            prune_responses(self.using, sync.mutation_result_seconds)

        try:
            await self._in_thread(work)
        except Exception as exc:
            logger.warning("reactive change-log maintenance failed (%s); retrying later", exc)
            await self._in_thread(self._reset_connection)

    # -- wake-up sources ----------------------------------------------------------------
    async def _listen_notify(self) -> None:
        """LISTEN for the capture trigger's NOTIFY; reconnect with backoff, catch up after."""
        import psycopg

        backoff = 0.1
        while True:
            try:
                params = conninfo(self.using)
                aconn = await psycopg.AsyncConnection.connect(autocommit=True, **params)
                async with aconn:
                    await aconn.execute("LISTEN reactive_changes")
                    backoff = 0.1
                    self.wake()  # anything missed while disconnected is in the log
                    async for _ in aconn.notifies():
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("reactive LISTEN connection lost (%s); reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _listen_layer(self) -> None:
        """Wake-ups from other processes through the Channels layer (when it crosses them)."""
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        channel = await layer.new_channel()
        await layer.group_add(CHANNEL_GROUP, channel)

        def announce(outcome: Outcome) -> None:
            self.loop.call_soon_threadsafe(
                lambda: self.loop.create_task(
                    layer.group_send(CHANNEL_GROUP, {"type": "reactive.wake"})
                )
            )

        executor.after_commit.append(announce)
        try:
            while True:
                await layer.receive(channel)
                self.wake()
        finally:
            executor.after_commit.remove(announce)
            await layer.group_discard(CHANNEL_GROUP, channel)


def conninfo(using: str) -> dict[str, Any]:
    """psycopg connection parameters of a Django database (for our own LISTEN connection)."""
    settings = connections[using].settings_dict
    params: dict[str, Any] = {"dbname": settings["NAME"]}
    for key, name in (
        ("USER", "user"),
        ("PASSWORD", "password"),
        ("HOST", "host"),
        ("PORT", "port"),
    ):
        if settings.get(key):
            params[name] = settings[key]
    for key, value in (settings.get("OPTIONS") or {}).items():
        if isinstance(value, (str, int)) and key not in (
            "isolation_level",
            "pool",
            "server_side_binding",
        ):
            params[key] = value
    return params
