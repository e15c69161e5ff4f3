"""Live subscriptions of one process: who holds which query, what it read, its last result.

A `Subscription` is one distinct (function, arguments, identity, journal): however many sockets
hold it, it runs once per snapshot. `affected(writes)` finds the subscriptions whose recorded read
sets a write set touches: a `ReadIndex` narrows them to those filed under the write's table,
document or first index value, and `ReadSet.overlaps` tests those exactly. `apply()` stores a
run's result and returns the holding sockets when the result changed (the listener marks them);
unchanged results send nothing. Of a session, the manager writes only its queries'
`QueryEntry.subscription` slots; a `Subscription` is the `session.QueryResult` a socket reads.
No I/O, no database. The listener's thread picks a tick's re-runs (`affected`, `live`) under the
manager's lock, so that a tick needs one hop to that thread, not two.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..auth import Identity
from ..functions.outcome import Outcome, error_data, error_message
from ..functions.registry import canonical_path
from ..readset import DocWrite, ReadSet
from ..values import ValueEncodingError, encode
from .protocol import encode_modification
from .read_index import ReadIndex
from .session import QueryEntry, QueryResult, SyncSession

SubKey = tuple[str, str, str, str]


def _canonical_json(value: Any) -> str:
    try:
        return json.dumps(encode(value), sort_keys=True, separators=(",", ":"))
    except ValueEncodingError:
        return repr(value)


@dataclass(eq=False)
class Subscription:
    """One distinct query and its latest result, shared by the sockets holding it."""

    key: SubKey
    path: str
    args: Any
    identity: Identity | None
    journal: dict[str, Any] | None
    holders: set[tuple[SyncSession, int]] = field(default_factory=set)
    reads: ReadSet | None = None
    result_hash: str | None = None
    modification: dict[str, Any] = field(default_factory=dict)
    stale: bool = True  # needs a run at the next tick
    static: bool = False  # a fixed result (e.g. a refused Add); never run
    # a run of it once left the listener's transaction failed: its re-runs get a savepoint
    savepoint: bool = False
    # `modification` as JSON text, and the modification it encodes (encoded once per result,
    # however many sockets are sent it)
    _encoded: str = field(default="", repr=False)
    _encoded_of: dict[str, Any] | None = field(default=None, repr=False)

    def encoded_modification(self) -> str:
        """`modification` as JSON text: encoded on first use after each new result."""
        modification = self.modification
        if self._encoded_of is not modification:
            self._encoded = encode_modification(modification)
            self._encoded_of = modification
        return self._encoded

    def journal_string(self) -> str | None:
        return None if self.journal is None else json.dumps(self.journal, sort_keys=True)


def subscription_key(
    path: str, args: Any, identity: Identity | None, journal: dict[str, Any] | None
) -> SubKey:
    return (
        canonical_path(path),
        _canonical_json(args),
        identity.cache_key() if identity else "",
        json.dumps(journal, sort_keys=True) if journal else "",
    )


def parse_journal(journal: str | None) -> dict[str, Any] | None:
    if not journal:
        return None
    try:
        data = json.loads(journal)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class SubscriptionManager:
    """Used on the event loop, except `affected` and `live`, which the listener's thread calls
    during a tick holding ``lock``: every change to who holds what and to the read index
    (`hold`, `release`, `apply`) takes it too."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subs: dict[SubKey, Subscription] = {}
        self.by_table: dict[str, set[Subscription]] = defaultdict(set)
        self.index: ReadIndex[Subscription] = ReadIndex()
        self.sessions: set[SyncSession] = set()
        self.new: set[Subscription] = set()  # created, not run yet
        # sessions to look at in the next tick (flagged when they become dirty): a tick's cost
        # follows the sockets it concerns, not every open socket
        self.flagged: set[SyncSession] = set()

    def flag(self, session: SyncSession) -> None:
        self.flagged.add(session)

    def take_flagged(self) -> set[SyncSession]:
        flagged, self.flagged = self.flagged, set()
        return flagged

    # -- holding ------------------------------------------------------------------------
    def hold(self, session: SyncSession, entry: QueryEntry) -> Subscription:
        journal = parse_journal(entry.journal)
        key = subscription_key(entry.path, entry.args, session.identity, journal)
        with self.lock:
            sub = self.subs.get(key)
            if sub is None:
                sub = Subscription(key, entry.path, entry.args, session.identity, journal)
                self.subs[key] = sub
                self.new.add(sub)
            sub.holders.add((session, entry.query_id))
        entry.subscription = sub
        return sub

    def hold_static(
        self, session: SyncSession, entry: QueryEntry, modification: dict[str, Any]
    ) -> None:
        sub = Subscription(
            ("static", str(id(entry)), "", ""),
            entry.path,
            entry.args,
            session.identity,
            None,
            static=True,
            stale=False,
        )
        sub.modification = modification
        sub.result_hash = _hash(modification)
        sub.holders.add((session, entry.query_id))
        entry.subscription = sub

    def release(self, session: SyncSession, entry: QueryEntry) -> None:
        sub = entry.subscription
        if not isinstance(sub, Subscription):  # None: the entry holds nothing
            return
        with self.lock:
            sub.holders.discard((session, entry.query_id))
            if not sub.holders and not sub.static and self.subs.get(sub.key) is sub:
                del self.subs[sub.key]
                self.new.discard(sub)
                self.index.remove(sub)
                if sub.reads is not None:
                    for table in sub.reads.tables():
                        self.by_table[table].discard(sub)

    def release_all(self, session: SyncSession) -> None:
        for entry in list(session.queries.values()):
            self.release(session, entry)
        self.sessions.discard(session)
        self.flagged.discard(session)

    def rehold_all(self, session: SyncSession) -> None:
        """After an identity change: every query becomes a subscription of the new identity."""
        for entry in session.queries.values():
            if isinstance(entry.subscription, Subscription) and entry.subscription.static:
                continue  # a query refused for the per-socket limit stays refused
            self.release(session, entry)
            self.hold(session, entry)

    # -- ticks --------------------------------------------------------------------------
    @staticmethod
    def live(sub: Subscription, now: float) -> bool:
        """Whether a run of ``sub`` is for someone: a holder whose identity has not expired (a
        socket whose token expired is closed; nothing runs under its identity meanwhile)."""
        if sub.identity is None:
            return True
        return any(not session.expired(now) for session, _ in sub.holders)

    def stale(self) -> list[Subscription]:
        return [s for s in self.new if s.stale]

    def unrun(self, results: Iterable[QueryResult]) -> set[Subscription]:
        """Those of a socket's query results that need a run before they can be sent."""
        return {s for s in results if isinstance(s, Subscription) and s.stale and not s.static}

    def affected(self, writes: Iterable[DocWrite]) -> set[Subscription]:
        hit: set[Subscription] = set()
        for write in writes:
            candidates = (
                self.by_table.get(write.table, ())
                if write.whole_table
                else self.index.candidates(write)
            )
            for sub in candidates:
                if sub not in hit and sub.reads is not None and sub.reads.overlaps(write):
                    hit.add(sub)
        return hit

    def apply(self, sub: Subscription, outcome: Outcome) -> set[SyncSession]:
        """Store a run's result; returns the sockets holding it if it changed (else none)."""
        with self.lock:
            self._file(sub, outcome)
        modification = modification_of(outcome, sub.journal_string())
        digest = _hash(modification)
        if digest == sub.result_hash:
            return set()
        sub.modification, sub.result_hash = modification, digest
        return {session for session, _ in sub.holders}

    def _file(self, sub: Subscription, outcome: Outcome) -> None:
        """File ``sub`` under what its new run read (under ``lock``)."""
        if sub.reads is not None:
            for table in sub.reads.tables():
                self.by_table[table].discard(sub)
        sub.reads, sub.stale = outcome.reads, False
        self.new.discard(sub)
        if outcome.journal is not None and sub.journal is None:
            sub.journal = outcome.journal  # the page's end, kept for re-runs (gapless pages)
        if sub.reads is not None and self.subs.get(sub.key) is sub:
            for table in sub.reads.tables():
                self.by_table[table].add(sub)
            self.index.add(sub, sub.reads)
        else:
            self.index.remove(sub)


def _hash(modification: dict[str, Any]) -> str:
    body = {k: v for k, v in modification.items() if k != "logLines"}
    return hashlib.blake2b(json.dumps(body, sort_keys=True).encode(), digest_size=16).hexdigest()


def modification_of(outcome: Outcome, journal: str | None) -> dict[str, Any]:
    if outcome.error is None:
        return {
            "type": "QueryUpdated",
            "value": outcome.encoded,
            "logLines": outcome.log_lines,
            "journal": journal,
        }
    mod: dict[str, Any] = {
        "type": "QueryFailed",
        "errorMessage": error_message(outcome.error),
        "logLines": outcome.log_lines,
        "journal": journal,
    }
    mod.update(error_data(outcome.error))
    return mod
