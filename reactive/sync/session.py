"""One socket's protocol state: versions, its query set, and what it has been sent. No I/O.

The client checks that every Transition starts exactly where the last one ended (querySet,
identity, ts). Versions advance as ModifyQuerySet and Authenticate messages arrive, but a
Transition may only claim a query-set version once every query in it has a result, and all the
results in it must come from one snapshot. So the listener captures a `Work` item at the start of
each tick (the versions and the queries at that moment), computes their results at one snapshot,
and `transition()` then turns the latest completed Work into a message, diffing each query's
result against what this socket was last sent. Coalescing is automatic: a socket that is slow to
drain simply skips intermediate results.

A session is written only through its own methods, by the listener that attached it (and, for
`mutation_committing`, the executor's thread through the mutation's `CallOptions`). It calls out
through the two functions it is built with: ``flag`` when it becomes dirty (the listener's tick
then looks at it) and ``wakeup`` when a Transition is ready (the socket's writer sends it). It
reads a query's result through `QueryResult`, which `sync.subscriptions.Subscription` satisfies;
this module does not import that one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..auth import Identity
from .protocol import (
    Add,
    Authenticate,
    Connect,
    ModifyQuerySet,
    ProtocolError,
    Remove,
    Spliced,
    version,
)


class SessionState(enum.Enum):
    OPEN = "open"  # accepted; messages flow
    CLOSED = "closed"  # the socket is gone; nothing more is sent


class QueryResult(Protocol):
    """A query's latest result as a socket reads it: the subscription that runs the query (shared
    by every socket holding the same one), left by its last run."""

    result_hash: str | None  # None until it has run
    modification: dict[str, Any]  # the QueryUpdated / QueryFailed body

    def encoded_modification(self) -> str:
        """``modification`` as JSON text (`protocol.encode_modification`), shared by every
        socket holding the query."""
        ...


@dataclass(slots=True)
class QueryEntry:
    query_id: int
    path: str
    args: Any
    journal: str | None
    subscription: QueryResult | None = None  # filled in by the subscription manager


@dataclass(slots=True)
class Work:
    """What a tick owes this socket: its versions and queries as the tick began."""

    query_set: int
    identity: int
    queries: dict[int, QueryResult]
    removed: list[int]
    # each query's (result hash, modification, its JSON text) as the tick that completed this
    # work left them: a later tick may update the shared subscriptions before this work is
    # sent, and a Transition must carry the results of the snapshot its ts labels, not newer ones
    # (queries that have not run yet are left out)
    results: dict[int, tuple[str, dict[str, Any], str]] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class SyncSession:
    identity: Identity | None
    session_id: str | None = None
    reconnected: bool = False  # Connect.connectionCount > 0: re-sent mutations are possible
    state: SessionState = SessionState.OPEN
    sent_query_set: int = 0
    sent_identity: int = 0
    sent_ts: int = 0
    recv_query_set: int = 0
    recv_identity: int = 0
    queries: dict[int, QueryEntry] = field(default_factory=dict)
    removed: list[tuple[int, int]] = field(default_factory=list)  # (query id, version)
    last_sent: dict[int, str] = field(default_factory=dict)  # query id -> result hash
    min_ts: int = 0  # a Transition at ts >= this is owed (after a mutation)
    # Connect's maxObservedTimestamp when it lay too far ahead of this process's clock to be
    # observed (reactive.clock.observe_ts): every ts this socket is sent is the process's plus
    # `shift` (which keeps their order, so read-your-writes stays exact) and never below `floor`.
    floor: int = 0
    shift: int = 0
    # The transaction id of this socket's mutation between its last statement and the sending
    # of its MutationResponse: no Transition whose snapshot sees it may go out before that.
    committing: int | None = None
    # When the identity's token expires (its exp plus the leeway, seconds since the epoch);
    # None for the Django session's identity or none. Set by `authenticate`.
    expires_at: float | None = None
    owed: bool = False  # a Transition must follow the last MutationResponse, even an empty one
    _dirty: bool = False
    ready: Work | None = None  # the latest completed tick's work, not yet sent
    ready_ts: int = 0
    # Given at construction, never assigned later:
    wakeup: Callable[[], None] | None = field(default=None, repr=False)  # the writer may send
    flag: Callable[[SyncSession], None] | None = field(default=None, repr=False)  # tick: look

    @property
    def dirty(self) -> bool:
        """Versions changed, or a held result changed: the next tick must look at it."""
        return self._dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self._dirty = value
        if value and self.flag is not None:
            self.flag(self)

    def mark_dirty(self) -> None:
        """A held result changed, or a tick could not finish what it owed: look again."""
        self.dirty = True

    def close(self) -> None:
        """The socket is gone: nothing more is sent."""
        self.state = SessionState.CLOSED

    # -- incoming -----------------------------------------------------------------------
    def connect(self, msg: Connect) -> None:
        """The client's Connect: its session id, and whether it may re-send mutations."""
        self.session_id = msg.session_id
        self.reconnected = msg.connection_count > 0

    def modify_query_set(self, msg: ModifyQuerySet) -> tuple[list[Add], list[QueryEntry]]:
        """Apply a ModifyQuerySet; returns the Adds and the removed entries."""
        if msg.base_version != self.recv_query_set:
            raise ProtocolError(
                f"BaseVersionMismatch: ModifyQuerySet baseVersion {msg.base_version}, "
                f"expected {self.recv_query_set}"
            )
        if msg.new_version <= msg.base_version:
            raise ProtocolError("ModifyQuerySet newVersion must be greater than baseVersion")
        present = set(self.queries)
        adds: list[Add] = []
        removed: list[QueryEntry] = []
        for mod in msg.modifications:
            if isinstance(mod, Add):
                if mod.query_id in present:
                    raise ProtocolError(f"Duplicate query id {mod.query_id} in ModifyQuerySet")
                present.add(mod.query_id)
                adds.append(mod)
            elif isinstance(mod, Remove):
                if mod.query_id not in present:
                    raise ProtocolError(f"Remove of unknown query id {mod.query_id}")
                present.discard(mod.query_id)
        for mod in msg.modifications:
            if isinstance(mod, Add):
                self.queries[mod.query_id] = QueryEntry(
                    mod.query_id, mod.udf_path, mod.args, mod.journal
                )
            else:
                entry = self.queries.pop(mod.query_id)
                removed.append(entry)
                self.removed.append((mod.query_id, msg.new_version))
                self.last_sent.pop(mod.query_id, None)
        self.recv_query_set = msg.new_version
        self.dirty = True
        # an Add that a later Remove in the same message cancelled is no Add at all
        adds = [
            a
            for a in adds
            if a.query_id in self.queries
            and self.queries[a.query_id].path == a.udf_path
            and self.queries[a.query_id].args == a.args
        ]
        return adds, removed

    def check_authenticate(self, msg: Authenticate) -> None:
        """A `ProtocolError` unless ``msg`` follows the Authenticate messages accepted so far
        (checked before its token is verified, and again when it is applied)."""
        if msg.base_version != self.recv_identity:
            raise ProtocolError(
                f"Authenticate baseVersion {msg.base_version}, expected {self.recv_identity}"
            )

    def authenticate(
        self, msg: Authenticate, identity: Identity | None, expires_at: float | None = None
    ) -> None:
        """The socket's identity is now ``identity``, valid until ``expires_at`` (seconds since
        the epoch; None: no end, e.g. the Django session's)."""
        self.check_authenticate(msg)
        self.recv_identity += 1
        self.identity = identity
        self.expires_at = expires_at
        self.last_sent.clear()  # every query is re-run for the new identity and sent again
        self.dirty = True

    def expired(self, now: float) -> bool:
        """The identity's token has expired (nothing may run or be sent under it any more)."""
        return self.expires_at is not None and now >= self.expires_at

    def owe_transition(self, ts: int) -> None:
        """After a mutation: the socket must see a Transition at a ts of at least ``ts``."""
        self.min_ts = max(self.min_ts, ts)
        self.owed = True
        self.dirty = True

    # -- mutations ----------------------------------------------------------------------
    def mutation_committing(self, xid: int | None) -> None:
        """The mutation's transaction id, just before its COMMIT (`Receipt.before_commit`,
        in the executor's thread); the listener's tick reads it."""
        self.committing = xid

    def mutation_ts(self, committed_ts: int | None, tick_ts: int) -> int:
        """The ts of a mutation's response and of the Transition owed after it: the commit's
        (``committed_ts``), or for a mutation that did not commit, the last tick's (``tick_ts``)
        and never below what was sent."""
        if committed_ts is not None:
            return self.label(committed_ts)
        return max(self.label(tick_ts), self.sent_ts)

    def mutation_answered(self, ts: int) -> None:
        """The MutationResponse is sent: a Transition at ``ts`` or later follows it."""
        self.committing = None
        self.owe_transition(ts)

    # -- ticks --------------------------------------------------------------------------
    def begin(self) -> Work:
        """Capture what the starting tick owes this socket."""
        queries = {
            qid: e.subscription for qid, e in self.queries.items() if e.subscription is not None
        }
        removed = [qid for qid, v in self.removed if v <= self.recv_query_set]
        self.dirty = False
        return Work(self.recv_query_set, self.recv_identity, queries, removed)

    def complete(self, work: Work, ts: int) -> bool:
        """The tick that began with ``work`` finished at snapshot ``ts``. False (and nothing is
        readied) if an Authenticate was accepted since the work was captured: its results are
        the old identity's, and none of those may be sent after the switch."""
        if work.identity != self.recv_identity:
            return False
        results = work.results = {}
        for qid, sub in work.queries.items():
            if sub.result_hash is not None:
                results[qid] = (sub.result_hash, sub.modification, sub.encoded_modification())
        self.ready, self.ready_ts = work, max(self.label(ts), self.sent_ts, self.floor)
        return True

    def label(self, ts: int) -> int:
        """A process timestamp as this socket is sent it."""
        return ts + self.shift

    def keep_above(self, observed: int, now: int, shift: bool) -> None:
        """Send this socket only timestamps at or past ``observed`` (Connect's
        maxObservedTimestamp). With ``shift`` (the process clock, at ``now``, is far behind
        it), every timestamp is moved up by the difference, keeping their order."""
        self.floor = max(self.floor, observed)
        if shift:
            self.shift = max(self.shift, observed - now)

    def transition(self) -> dict[str, Any] | None:
        """The next Transition message, or None if there is nothing to say."""
        work, ts = self.ready, self.ready_ts
        if work is None or self.state is SessionState.CLOSED:
            return None
        if work.identity != self.recv_identity:
            # Completed for the identity before an Authenticate accepted since: never sent.
            # The Authenticate made the socket dirty; the next tick computes the new results.
            self.ready = None
            return None
        if self.owed and ts < self.min_ts:
            # The socket's last mutation is not in this snapshot: the Python and Rust clients
            # complete a mutation on the first Transition after its response, whatever its ts,
            # so none may be sent until one covers it (the listener owes one: the next tick).
            self.ready = None
            return None
        mods: list[dict[str, Any]] = []
        for qid in work.removed:
            if any(q == qid for q, _ in self.removed):
                mods.append({"type": "QueryRemoved", "queryId": qid})
                # the id may come back (re-added): its new query must be sent its own result
                self.last_sent.pop(qid, None)
        # only the removals this Transition answers: a query id removed, re-added and removed
        # again after `work` was captured keeps its later removal for the next Transition
        self.removed = [
            (q, v) for q, v in self.removed if not (q in work.removed and v <= work.query_set)
        ]
        for qid, (result_hash, modification, encoded) in work.results.items():
            if self.last_sent.get(qid) != result_hash:
                mods.append(Spliced(qid, modification, encoded))
                self.last_sent[qid] = result_hash
        versions_moved = (work.query_set, work.identity) != (
            self.sent_query_set,
            self.sent_identity,
        )
        owed = self.owed and ts >= self.min_ts
        if not mods and not versions_moved and not owed:
            self.ready = None
            return None
        message = {
            "type": "Transition",
            "startVersion": version(self.sent_query_set, self.sent_identity, self.sent_ts),
            "endVersion": version(work.query_set, work.identity, ts),
            "modifications": mods,
        }
        self.sent_query_set, self.sent_identity, self.sent_ts = work.query_set, work.identity, ts
        if owed:
            self.owed = False
        self.ready = None
        return message
