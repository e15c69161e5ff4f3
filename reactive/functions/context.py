"""The `ctx` a function receives: QueryCtx, MutationCtx and ActionCtx.

| ctx             | db            | run_query     | run_mutation | run_action | storage         |
|-----------------|---------------|---------------|--------------|------------|-----------------|
| QueryCtx        | reader        | same snapshot | —            | —          | urls, metadata  |
| MutationCtx     | reader+writer | same txn      | savepoint    | —          | + upload, delete|
| ActionCtx       | —             | new txn       | new txn      | yes        | + store, get    |

`ctx.now` (ms since the epoch) is frozen for each attempt of a query or mutation and `ctx.random`
is seeded once per call, so a retried mutation sees a consistent world. Calling a function kind
that Convex forbids here raises `NotAllowedHere` with a hint.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asgiref.sync import SyncToAsync
from django.db import connections

from ..errors import NotAllowedHere
from ..search.vector_query import vector_search
from ..storage.api import ActionStorage, StorageReader, StorageWriter
from ..validators import CompiledArgs, CompiledReturns
from .registry import Kind, RegisteredFunction

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..auth import Auth
    from ..db.interface import DocumentReader, DocumentWriter
    from ..readset import ReadSet
    from ..scheduler.schedule import Scheduler
    from .logs import FunctionLog
    from .references import FunctionReference


class _OffLoop(SyncToAsync[..., Any]):
    """`SyncToAsync` on the shared worker threads, with Django's request-end connection
    hygiene around each call (as Channels' `database_sync_to_async`) minus its health check.

    ``close_old_connections`` marks a persistent connection unchecked, so with
    ``CONN_HEALTH_CHECKS`` the next call's first statement was preceded by a ``SELECT 1``: one
    round trip per mutation. A connection is still checked once, when it is new; after that,
    one the database has dropped since is caught by the call itself: a transaction whose first
    statement fails on it runs again on a fresh connection (`transactions.retry`). Connections
    past ``CONN_MAX_AGE``, in a broken transaction state, or that saw errors and no longer
    answer are closed before and after each call, as Django closes them around a request."""

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        _tidy_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            _tidy_connections()


def _tidy_connections() -> None:
    for conn in connections.all(initialized_only=True):
        checked = getattr(conn, "health_check_done", False)
        conn.close_if_unusable_or_obsolete()
        if conn.connection is not None:
            conn.health_check_done = checked  # type: ignore[attr-defined]


async def run_off_loop(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Await ``fn(*args, **kwargs)`` in a worker thread (ORM-safe; see `_OffLoop`)."""
    return await _OffLoop(fn, thread_sensitive=False)(*args, **kwargs)


@dataclass
class BaseCtx:
    auth: Auth
    log: FunctionLog
    path: str
    _call: Any = field(repr=False)  # executor callback: (ref, args, kind) -> value
    _using: str = field(default="default", repr=False)  # the database alias of the call

    def __getattr__(self, name: str) -> Any:
        if name == "scheduler":
            raise NotAllowedHere(
                f"{self.path}: ctx.scheduler is not available in a query; "
                "schedule from a mutation or an action"
            )
        raise AttributeError(name)

    def run_query(self, ref: FunctionReference | str, args: dict[str, Any] | None = None) -> Any:
        """Run a query; in a query or mutation it reads the same snapshot."""
        return self._call(ref, args, Kind.QUERY)

    def run_mutation(self, ref: FunctionReference | str, args: dict[str, Any] | None = None) -> Any:
        raise NotAllowedHere(
            f"{self.path}: run_mutation is not available in a query; queries are read-only"
        )

    def run_action(self, ref: FunctionReference | str, args: dict[str, Any] | None = None) -> Any:
        raise NotAllowedHere(
            f"{self.path}: run_action is only available in actions; queries and mutations run "
            "in a transaction that may be retried, so call the action from a client or an action"
        )


@dataclass
class QueryCtx(BaseCtx):
    db: DocumentReader = field(default=None, repr=False)  # type: ignore[assignment]
    now: float = 0.0
    random: random.Random = field(default_factory=random.Random, repr=False)
    #: The call's read set, where ``vector_search`` records what it read.
    _reads: ReadSet | None = field(default=None, repr=False)

    def vector_search(
        self,
        table: str,
        index: str,
        *,
        vector: Sequence[float],
        limit: int = 10,
        filter: Callable[[Any], Any] | None = None,
    ) -> list[dict[str, Any]]:
        """``[{"_id", "_score"}]`` of the ``limit`` (1..256) rows of ``table`` nearest
        ``vector`` in vector index ``index``, best first, among those ``filter`` keeps
        (``lambda q: q.or_(q.eq("genre", "a"), q.eq("genre", "b"))``) and ``ctx.db`` lets this
        caller read. Reactive: a subscription re-runs when a write can change the result."""
        return vector_search(
            self.db, self._reads, self.path, table, index, vector=vector, limit=limit, filter=filter
        )

    @property
    def storage(self) -> StorageReader:
        """get_url / get_metadata: reads of `_storage` through ``ctx.db`` (the ctx's own, rules
        and all), so they join the read set and queries stay reactive."""
        return StorageReader(self.path, self.db, self._using)


@dataclass
class MutationCtx(QueryCtx):
    db: DocumentWriter = field(default=None, repr=False)  # type: ignore[assignment]
    #: run_after / run_at / cancel, written in this mutation's transaction.
    scheduler: Scheduler = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def storage(self) -> StorageWriter:
        """... and generate_upload_url / delete (the bytes go when the mutation commits)."""
        return StorageWriter(self.path, self.db, self._using)

    def run_mutation(self, ref: FunctionReference | str, args: dict[str, Any] | None = None) -> Any:
        """Run a mutation in a savepoint: if it raises, only its writes roll back."""
        return self._call(ref, args, Kind.MUTATION)


@dataclass
class ActionCtx(BaseCtx):
    #: run_after / run_at / cancel, each committed at once (an action has no transaction).
    scheduler: Scheduler = field(default=None, repr=False)  # type: ignore[assignment]
    #: Whether the action is internal: its vector searches then read as an internal query.
    _internal: bool = field(default=False, repr=False)

    def vector_search(
        self,
        table: str,
        index: str,
        *,
        vector: Sequence[float],
        limit: int = 10,
        filter: Callable[[Any], Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Convex's ``ctx.vectorSearch``: ``[{"_id", "_score"}]``, best first (see
        `QueryCtx.vector_search`). It runs as a query of its own, through the executor: one
        read-only snapshot, the call's limits, and the rules of a public query for this
        caller (an internal action's search reads as an internal query)."""

        def search(ctx: QueryCtx) -> list[dict[str, Any]]:
            return ctx.vector_search(table, index, vector=vector, limit=limit, filter=filter)

        fn = RegisteredFunction(
            kind=Kind.QUERY,
            handler=search,
            internal=self._internal,
            args=CompiledArgs(lambda args: {}, accepts_any=False),
            returns=CompiledReturns(None),
            path=self.path,
            inline=True,
        )
        result: list[dict[str, Any]] = self._call(fn, {}, Kind.QUERY)
        return result

    async def avector_search(
        self,
        table: str,
        index: str,
        *,
        vector: Sequence[float],
        limit: int = 10,
        filter: Callable[[Any], Any] | None = None,
    ) -> list[dict[str, Any]]:
        """`vector_search` for an async action."""
        result: list[dict[str, Any]] = await run_off_loop(
            self.vector_search, table, index, vector=vector, limit=limit, filter=filter
        )
        return result

    @property
    def storage(self) -> ActionStorage:
        """get_url / get_metadata / generate_upload_url / delete (at once), store / get."""
        return ActionStorage(self.path, None, self._using)

    def run_mutation(self, ref: FunctionReference | str, args: dict[str, Any] | None = None) -> Any:
        """Run a mutation in its own transaction."""
        return self._call(ref, args, Kind.MUTATION)

    def run_action(self, ref: FunctionReference | str, args: dict[str, Any] | None = None) -> Any:
        """Run another action."""
        return self._call(ref, args, Kind.ACTION)

    async def arun_query(
        self, ref: FunctionReference | str, args: dict[str, Any] | None = None
    ) -> Any:
        return await run_off_loop(self.run_query, ref, args)

    async def arun_mutation(
        self, ref: FunctionReference | str, args: dict[str, Any] | None = None
    ) -> Any:
        return await run_off_loop(self.run_mutation, ref, args)

    async def arun_action(
        self, ref: FunctionReference | str, args: dict[str, Any] | None = None
    ) -> Any:
        return await run_off_loop(self.run_action, ref, args)

    @property
    def db(self) -> Any:
        raise NotAllowedHere(
            f"{self.path}: actions have no ctx.db; read and write through "
            "ctx.run_query / ctx.run_mutation"
        )
