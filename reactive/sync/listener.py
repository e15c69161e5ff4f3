"""The change listener: one per process, the only place subscriptions run.

Each tick, on one dedicated thread and one database connection (`sync.listener_db` does the
database work of steps 1 to 3):

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

Sockets reach it through a small interface, called on the event loop: `attach` gives the
consumer a `SyncSession`, which it hands back with each call (`connect`, `modify`,
`authenticate`, the mutation calls, `transition`, `detach`); every change to a session goes
through the listener, and the consumer never sees the subscriptions. A tick starts when a source
of `sync.wakeups` wakes the listener (its own mutations, NOTIFY, the Channels layer) or after
`SYNC.poll_seconds` without one, as a safety net: wake-ups are hints, the change log is the truth.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import clock
from ..auth import Identity
from ..conf import reactive_settings
from ..functions.outcome import CallOptions, Outcome, Receipt
from ..observe import live
from ..readset import DocWrite
from . import protocol
from .listener_db import ListenerDatabase
from .protocol import Authenticate, Connect, ModifyQuerySet
from .session import SessionState, SyncSession, Work
from .subscriptions import Subscription, SubscriptionManager
from .wakeups import Wakeups

logger = logging.getLogger("reactive.sync")

MAINTENANCE_SECONDS = 10.0
RECHECK_SECONDS = 0.005
#: How far ahead of this server's clock a reconnecting client's maxObservedTimestamp is still
#: honoured (by shifting that socket's timestamps): another server's clock could be this far off.
MAX_SHIFT_NS = 24 * 3600 * 1_000_000_000


class Listener:
    """The per-process subscription engine. Get it with `Listener.current()`."""

    _instances: dict[asyncio.AbstractEventLoop, Listener] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop, using: str = "default") -> None:
        self.loop = loop
        self.using = using
        self.manager = SubscriptionManager()
        live.watch(self.manager)  # the admin's live subscription counts
        self.id = str(uuid.uuid4())
        self._wake = asyncio.Event()
        self._wakeups = Wakeups(loop, using, self.wake)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reactive-listener")
        self._db = ListenerDatabase(using, self.id)  # used in self._thread only
        self._snapshot: str | None = None
        self.ts = 0  # the last completed tick's timestamp (issued just before its snapshot)
        self._tasks: list[asyncio.Task[Any]] = []
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
        threshold = reactive_settings.SYNC.gc_threshold
        if threshold is not None and threshold > gc.get_threshold()[0]:
            gc.freeze()  # what is alive at start-up stays: no collection walks it again
            gc.set_threshold(threshold, *gc.get_threshold()[1:])
        self._tasks = [self.loop.create_task(self._run(), name="reactive-ticks")]
        self._wakeups.start()

    async def stop(self) -> None:
        await self._wakeups.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._in_thread(self._db.close)
        self._thread.shutdown(wait=False)
        Listener._instances.pop(self.loop, None)

    def wake(self) -> None:
        self._wake.set()

    # -- sockets: the consumer's interface ----------------------------------------------
    def attach(self, identity: Identity | None, wakeup: Callable[[], None]) -> SyncSession:
        """A new socket's session. ``wakeup`` is called when a Transition is ready to send."""
        session = SyncSession(identity=identity, wakeup=wakeup, flag=self.manager.flag)
        self.manager.sessions.add(session)
        return session

    def connect(self, session: SyncSession, msg: Connect) -> None:
        session.connect(msg)
        if msg.max_observed_ts is not None:
            self._observe(session, msg.max_observed_ts)

    def modify(self, session: SyncSession, msg: ModifyQuerySet) -> None:
        """Apply a ModifyQuerySet (a `ProtocolError` changes nothing): removed queries are
        released, added ones held, past the per-socket limit as a QueryFailed of their own."""
        adds, removed = session.modify_query_set(msg)
        for entry in removed:
            self.manager.release(session, entry)
        limit = reactive_settings.SYNC.max_queries_per_socket
        room = limit - (len(session.queries) - len(adds))
        for i, add in enumerate(adds):
            entry = session.queries[add.query_id]
            if i >= room:
                refused = f"Too many queries on one connection (limit {limit})"
                self.manager.hold_static(session, entry, protocol.query_failed(refused))
            else:
                self.manager.hold(session, entry)
        self.wake()

    def authenticate(
        self,
        session: SyncSession,
        msg: Authenticate,
        identity: Identity | None,
        expires_at: float | None = None,
    ) -> None:
        """The socket's identity is now ``identity`` (until ``expires_at``): every query runs
        again under it, and the next Transition bumps the identity version. Results of a tick
        that began before are never sent (`SyncSession.complete`)."""
        session.authenticate(msg, identity, expires_at)
        self.manager.rehold_all(session)
        self.wake()

    def mutation_options(
        self, session: SyncSession, request_id: int, caller: Identity | None
    ) -> CallOptions:
        """How the socket's mutation ``request_id``, sent by ``caller``, runs: exactly once per
        (session id, caller, request id), stamped with a ts, reporting its transaction id before
        COMMIT. The caller is part of the key: a stored answer is replayed only to the identity
        that sent the mutation, never to a socket that presents the same (client-chosen)
        session id under another identity; that one's request runs as its own."""
        key = None
        if session.session_id:
            who = caller.token_identifier if caller is not None else None
            scoped = json.dumps([session.session_id, who], separators=(",", ":"))
            key = (hashlib.sha256(scoped.encode()).hexdigest(), request_id)  # varchar(64)
        return CallOptions(
            receipt=Receipt(
                idempotency_key=key,
                check_stored=session.reconnected,
                before_commit=session.mutation_committing,
            )
        )

    def mutation_ts(self, session: SyncSession, outcome: Outcome) -> int:
        """The ts of the mutation's response (and of the Transition that must follow it)."""
        return session.mutation_ts(outcome.ts if outcome.ok else None, self.ts)

    def mutation_answered(self, session: SyncSession, ts: int) -> None:
        """The MutationResponse is sent. A Transition follows every mutation, failed ones too:
        the Python (Rust) client completes one that failed with a ConvexError only then."""
        session.mutation_answered(ts)
        self.wake()

    def transition(self, session: SyncSession) -> dict[str, Any] | None:
        """The Transition to send now, if any (after ``wakeup`` was called)."""
        return session.transition()

    def detach(self, session: SyncSession) -> None:
        session.close()
        self.manager.release_all(session)

    def _observe(self, session: SyncSession, observed: int) -> None:
        """Connect's maxObservedTimestamp: no Transition of this socket goes below it."""
        if clock.observe_ts(observed):  # within a minute of the clock: the clock moves past it
            session.keep_above(observed, 0, shift=False)
        elif observed <= time.time_ns() + MAX_SHIFT_NS:
            # Another server's clock is this far ahead: shift this socket's timestamps alone.
            session.keep_above(observed, clock.next_ts(), shift=True)
        else:
            # Days ahead of any plausible clock (a made-up value): shifting by it would carry
            # this socket's timestamps towards 2^63; it is not honoured.
            logger.warning(
                "reactive sync: ignoring a Connect maxObservedTimestamp %.0f s ahead "
                "of this server's clock",
                (observed - time.time_ns()) / 1e9,
            )

    # -- the loop -----------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = 0.05
        poll = reactive_settings.SYNC.poll_seconds
        while True:
            try:
                async with asyncio.timeout(poll):  # no task per wait, unlike wait_for
                    await self._wake.wait()
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

    def _tick_in_thread(
        self, since: str | None, pick: Callable[[list[DocWrite]], list[Subscription]]
    ) -> asyncio.Future[tuple[str, int, list[Subscription], list[Outcome]]]:
        """`ListenerDatabase.tick` in one hop to the listener's thread: the re-runs never wait
        for the event loop between reading the writes and running what they touch. The thread
        hands the results over as soon as it has them, then ends the tick's read-only
        transaction (`finish`) while the loop sends them: its COMMIT is off the sockets' path,
        and the tick wakes the thread once, not twice. A next tick queues behind it."""
        loop, future = self.loop, self.loop.create_future()

        def hand_over(result: Any, error: BaseException | None) -> None:
            if future.done():  # the listener stopped meanwhile
                return
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

        def work() -> None:
            try:
                result = self._db.tick(since, pick)
            except BaseException as exc:
                _call_on(loop, hand_over, None, exc)
                return
            _call_on(loop, hand_over, result, None)
            self._db.finish()

        self._thread.submit(work)
        return future

    async def tick(self) -> None:
        """One snapshot: read changes, re-run what they touch and what is new, notify sockets."""
        flagged = self.manager.take_flagged()
        works = {s: s.begin() for s in flagged if s.dirty and s.state is SessionState.OPEN}
        due = set(self.manager.stale())
        for work in works.values():
            due |= self.manager.unrun(work.queries.values())
        now = time.time()
        manager = self.manager

        def pick(writes: list[DocWrite]) -> list[Subscription]:
            """On the listener's thread, once the writes are read (the manager's lock keeps
            the loop from changing who holds what meanwhile)."""
            with manager.lock:
                hit = manager.affected(writes) | due
                return [sub for sub in hit if not sub.static and manager.live(sub, now)]

        try:
            snapshot, ts, runs, outcomes = await self._tick_in_thread(self._snapshot, pick)
        except BaseException:
            self._owe_again(flagged, works)
            raise
        self._snapshot, self.ts = snapshot, ts
        self.ticks += 1
        self.executions += len(runs)
        for sub, outcome in zip(runs, outcomes, strict=True):
            for changed in self.manager.apply(sub, outcome):
                changed.mark_dirty()
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
                session.mark_dirty()
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
        if session.expired(time.time()):
            return  # its token expired: nothing more is sent (the socket is being closed)
        if work is None:
            if not session.dirty and not session.owed:
                return
            work = session.begin()  # it changed during the tick: its current state
        if self.manager.unrun(work.queries.values()):
            session.mark_dirty()  # queries added during this tick run in the next one
            self._wake.set()
            return
        if not session.complete(work, ts):
            # An Authenticate came in during the tick: this work holds the old identity's
            # results. The next tick computes the new identity's.
            session.mark_dirty()
            self._wake.set()
            return
        if session.owed and session.min_ts > session.label(ts):
            # Its mutation committed after this tick's ts was issued: the next tick covers it.
            self.manager.flag(session)
            self.loop.call_later(RECHECK_SECONDS, self._wake.set)
        if session.wakeup is not None:
            session.wakeup()

    async def _maintain(self) -> None:
        now = self.loop.time()
        if now - self._last_maintenance < MAINTENANCE_SECONDS or self._snapshot is None:
            return
        self._last_maintenance = now
        sync = reactive_settings.SYNC
        try:
            await self._in_thread(
                self._db.maintain,
                self._snapshot,
                sync.change_log_retention_seconds,
                sync.mutation_result_seconds,
            )
        except Exception as exc:
            logger.warning("reactive change-log maintenance failed (%s); retrying later", exc)
            await self._in_thread(self._db.reset_connection)


def _call_on(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    """``fn(*args)`` on ``loop``, from another thread; nothing if the loop has closed."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        pass
