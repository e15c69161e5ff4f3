"""The one entry point that runs every function call, from every caller.

HTTP views, the WebSocket consumer, `manage.py reactive run`, `reactive.testing` and nested
`ctx.run_*` calls all come through `execute()`: resolve the path → refuse internal functions to
clients → validate the arguments → build the ctx → run (queries at one REPEATABLE READ READ ONLY
snapshot; mutations in one SERIALIZABLE or lock-based transaction, retried on conflicts; actions
outside any transaction) → validate the result → encode it. The `Outcome` carries the value, the
error (never raised to transports), the log lines, the commit timestamp, and the read and write
sets that the sync engine consumes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connections
from pydantic import ValidationError

from .. import clock
from ..auth import Auth, Identity
from ..conf import reactive_settings
from ..db.raw_reads import recording
from ..db.reader import DatabaseReader
from ..db.writer import DatabaseWriter
from ..errors import (
    ArgumentValidationError,
    ConflictError,
    FunctionError,
    FunctionNotFound,
    LimitExceeded,
    NotAllowedHere,
    ReturnValidationError,
)
from ..limits import Budget, approx_size
from ..readset import ReadSet, WriteSet
from ..scheduler.schedule import Scheduler, Tally
from ..transactions.retry import (
    RetryTransaction,
    in_transaction,
    run_in_transaction,
)
from ..validators import describe_errors
from ..values import ValueEncodingError, decode, encode
from . import ledger, network_guard
from .context import ActionCtx, MutationCtx, QueryCtx
from .failures import call_handler, raise_if_aborted, to_function_error, watching
from .logs import FunctionLog, LogSink, capture, current_lines
from .outcome import NO_OPTIONS, CallOptions, Outcome
from .references import FunctionReference
from .registry import AnyFunction, Isolation, Kind, RegisteredFunction, registry
from .signals import mutation_committed

logger = logging.getLogger("reactive.executor")

_local = threading.local()


@dataclass
class Frame:
    """What a running query or mutation shares with the calls nested in it."""

    kind: Kind
    budget: Budget
    reads: ReadSet
    writes: WriteSet | None
    lock_rows: bool
    now: float
    seed: int
    children: int = 0
    journal: dict[str, Any] | None = None  # the subscription's pagination journal, if any
    reader: DatabaseReader | None = None
    tally: Tally = field(default_factory=Tally)  # functions scheduled by this call

    def child_seed(self) -> int:
        """A seed for the next nested call, derived from ours: the same on every retry."""
        self.children += 1
        return (self.seed * 1_000_003 + self.children) & 0xFFFF_FFFF_FFFF_FFFF


def _frame() -> Frame | None:
    stack: list[Frame] = getattr(_local, "frames", [])
    return stack[-1] if stack else None


class _push:
    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    def __enter__(self) -> Frame:
        if not hasattr(_local, "frames"):
            _local.frames = []
        _local.frames.append(self.frame)
        return self.frame

    def __exit__(self, *exc: Any) -> None:
        _local.frames.pop()


def resolve(ref: FunctionReference | str, *, from_client: bool) -> tuple[str, AnyFunction]:
    """Find the function for a reference or path; internal ones only for server callers."""
    if isinstance(ref, FunctionReference):
        path, want_internal = ref.path, ref.internal
    elif isinstance(ref, str):
        path, want_internal = ref, not from_client
    elif isinstance(ref, RegisteredFunction) and ref.path:
        path, want_internal = ref.path, ref.internal and not from_client
    else:
        raise FunctionNotFound(f"{ref!r} is not a function reference (use api.x.y / internal.x.y)")
    fn = registry.get(path) if path else None
    if fn is None or (fn.internal and from_client):
        scope = "public " if from_client else ""
        raise FunctionNotFound(f"Could not find {scope}function for '{path}'")
    if fn.internal and not want_internal and isinstance(ref, FunctionReference):
        raise FunctionNotFound(f"{fn.path} is internal: refer to it as internal.{_dotted(fn)}")
    return fn.path or path, fn


def _dotted(fn: AnyFunction) -> str:
    return (fn.path or "").replace("/", ".").replace(":", ".")


def execute(
    ref: FunctionReference | str,
    args: Any = None,
    *,
    identity: Identity | None = None,
    from_client: bool = False,
    kind: Kind | str | None = None,
    using: str = "default",
    options: CallOptions = NO_OPTIONS,
) -> Outcome:
    """Run one function call and return its `Outcome` (errors are captured, not raised).

    Args:
        ref: ``api.x.y`` / ``internal.x.y``, or a path string (``"chat:send"``).
        args: The arguments object (already decoded from the wire); None means ``{}``.
        identity: Who is calling (None: anonymous).
        from_client: True for HTTP/WebSocket callers: internal functions are then not found.
        kind: The kind the caller expects (``/api/query`` expects a query), checked if given.
        using: The Django database alias.
        options: Journal, commit position and idempotency, for the sync engine.
    """
    sink = LogSink()
    path = ref.path if isinstance(ref, FunctionReference) else str(ref)
    outcome = Outcome(path=path)
    with capture(sink) as shared:
        try:
            path, fn = resolve(ref, from_client=from_client)
            outcome.path, outcome.kind = path, fn.kind
            if kind is not None and Kind(kind) is not fn.kind:
                raise FunctionNotFound(
                    f"Trying to execute {path} as {Kind(kind).value.capitalize()}, but it is "
                    f"defined as {fn.kind.value.capitalize()}."
                )
            _run(fn, path, {} if args is None else args, identity, outcome, using, options)
        except FunctionError as exc:
            outcome.error = exc
        except RetryTransaction as exc:
            if _frame() is not None:
                raise  # nested: the outermost transaction retries
            # Inside a transaction the caller opened (no retry is possible from here).
            outcome.error = ConflictError(
                f"{path}: write conflict (SQLSTATE {exc.sqlstate}) inside a transaction opened "
                "by the caller, which reactive cannot retry; nothing was written."
            )
        except Exception as exc:  # user code failing in any other way
            outcome.error = to_function_error(path, exc)
    if shared is sink and not outcome.replayed:
        outcome.log_lines = sink.lines
    return outcome


def validate_args(fn: AnyFunction, path: str, args: Any) -> dict[str, Any]:
    limit = reactive_settings.LIMITS.argument_bytes
    size = approx_size(args)
    if size > limit:
        raise LimitExceeded(f"{path}: arguments are too large ({size} > {limit} bytes)")
    if not isinstance(args, dict):
        raise ArgumentValidationError(
            f"ArgumentValidationError in {path}: the arguments must be an object, "
            f"not {type(args).__name__}"
        )
    try:
        return fn.args(args)
    except ValidationError as exc:
        raise ArgumentValidationError(
            f"ArgumentValidationError in {path}: {describe_errors(exc)}"
        ) from None


def _finish(fn: AnyFunction, path: str, value: Any, outcome: Outcome) -> None:
    try:
        value = fn.returns(value)
    except ValidationError as exc:
        raise ReturnValidationError(
            f"ReturnsValidationError in {path}: {describe_errors(exc)}"
        ) from None
    try:
        encoded = encode(value)
    except ValueEncodingError as exc:
        raise ReturnValidationError(
            f"{path} returned a value that is not a Convex value: {exc}"
        ) from None
    limit = reactive_settings.LIMITS.result_bytes
    if approx_size(encoded) > limit:
        raise LimitExceeded(f"{path}: the result is too large (> {limit} bytes)")
    outcome.value, outcome.encoded = value, encoded


def _run(
    fn: AnyFunction,
    path: str,
    raw_args: Any,
    identity: Identity | None,
    outcome: Outcome,
    using: str,
    options: CallOptions,
) -> None:
    kwargs = validate_args(fn, path, raw_args)
    parent = _frame()
    if fn.kind is Kind.ACTION:
        if parent is not None:
            raise NotAllowedHere(f"{path}: actions cannot be called from queries or mutations")
        _run_action(fn, path, kwargs, identity, outcome, using)
        return
    if parent is not None:
        _run_nested(fn, path, kwargs, identity, outcome, using, parent)
        return
    limits = reactive_settings.LIMITS
    seed = random.getrandbits(64)
    is_mutation = fn.kind is Kind.MUTATION
    lock_rows = is_mutation and fn.isolation is Isolation.SELECT_FOR_UPDATE
    key = options.idempotency_key if is_mutation else None

    last_reads: list[ReadSet] = []

    def attempt(n: int) -> tuple[Outcome, bool]:
        if options.before_commit is not None and n > 1:
            options.before_commit(None)  # the last attempt's transaction rolled back
        if key is not None and options.check_stored:
            stored = ledger.stored_response(using, key)
            if stored is not None:  # a re-sent mutation: answer, do not run again
                replayed = _replayed(path, stored)
                if options.before_commit is not None:
                    options.before_commit(replayed.xid)
                return replayed, True
        if options.guard is not None and not options.guard.before(using):
            return Outcome(path=path, kind=fn.kind, skipped=True), False
        budget = Budget(path, limits, limits.function_seconds)
        frame = Frame(
            fn.kind,
            budget,
            ReadSet(),
            WriteSet() if is_mutation else None,
            lock_rows,
            clock.now_ms(),
            seed,
            journal=options.journal,
        )
        result = Outcome(path=path, kind=fn.kind)
        last_reads[:] = [frame.reads]  # kept if the function fails: its error depends on them
        failures: list[Exception] = []
        connection = connections[using]
        # reads that bypass ctx.db (ORM, raw SQL) record whole-table reads: see db/raw_reads
        with (
            _push(frame),
            network_guard.no_network(path, fn.kind.value),
            connection.execute_wrapper(watching(failures)),
            connection.execute_wrapper(recording(frame.reads)),
        ):
            value = call_handler(fn, _make_ctx(fn, path, frame, identity, using), kwargs)
            budget.check_time()
        raise_if_aborted(using, failures)
        _finish(fn, path, value, result)  # inside the transaction: a bad result rolls back
        if options.guard is not None:
            options.guard.after(using, result)
        result.reads, result.writes = frame.reads, frame.writes
        result.journal = frame.reader.page_journal if frame.reader is not None else None
        if key is not None:
            result.xid = ledger.store_response(
                using, key, {"value": result.encoded, "logLines": current_lines()}
            )
        elif is_mutation and options.want_ts:
            result.xid = ledger.transaction_id(using)
        if options.before_commit is not None and is_mutation:
            options.before_commit(result.xid)
        return result, False

    if is_mutation:
        isolation = "read_committed" if lock_rows else "serializable"
        read_only = False
    else:
        isolation, read_only = "repeatable_read", True
    # Skip NOTIFY only where a listener in this process announces commits another way (a
    # worker process has none: its writes must NOTIFY the servers).
    setup = (
        "SET LOCAL reactive.skip_notify = 'on'"
        if is_mutation
        and not reactive_settings.notify_executor_writes
        and mutation_committed.has_listeners()
        else None
    )
    try:
        (result, replayed), attempts = run_in_transaction(
            attempt,
            using=using,
            isolation=isolation,
            read_only=read_only,
            policy=reactive_settings.RETRY,
            timeout_seconds=limits.function_seconds,
            setup=setup,
            queue_key=f"reactive:{path}" if is_mutation else None,
        )
    except Exception:
        # A failed query's result (its error) depends on what it read too: a subscription
        # showing an error must re-run when those rows change.
        outcome.reads = last_reads[0] if last_reads else None
        raise
    for name in ("value", "encoded", "journal", "reads", "writes", "skipped", "xid"):
        setattr(outcome, name, getattr(result, name))
    outcome.attempts = attempts
    if is_mutation and (options.want_ts or key is not None) and not in_transaction(using):
        # after COMMIT returned (or the stored response of an earlier commit was read): the
        # label of the first snapshot that sees the transaction, or a later one
        outcome.ts = clock.timeline.stamp(result.xid)
    if replayed:
        outcome.log_lines = result.log_lines
        outcome.replayed = True
    elif is_mutation and not in_transaction(using):
        mutation_committed.send(sender=None, outcome=outcome)


def _replayed(path: str, stored: dict[str, Any]) -> Outcome:
    value = decode(stored["value"]) if stored.get("value") is not None else None
    xid = stored.get("xid")
    return Outcome(
        path=path,
        value=value,
        encoded=stored.get("value"),
        log_lines=list(stored.get("logLines", [])),
        xid=int(xid) if xid is not None else None,
    )


def _make_ctx(
    fn: AnyFunction, path: str, frame: Frame, identity: Identity | None, using: str
) -> QueryCtx:
    def call(ref: Any, args: Any, want: Kind) -> Any:
        return execute(ref, args, identity=identity, kind=want, using=using).unwrap()

    common: dict[str, Any] = dict(
        auth=Auth(identity),
        log=FunctionLog(path),
        path=path,
        _call=call,
        now=frame.now,
        random=random.Random(frame.seed),
    )
    if fn.kind is Kind.MUTATION:
        assert frame.writes is not None
        db = DatabaseWriter(
            using=using,
            budget=frame.budget,
            reads=frame.reads,
            writes=frame.writes,
            lock_rows=frame.lock_rows,
            journal=frame.journal,
        )
        frame.reader = db
        scheduler = Scheduler(
            path=path, using=using, now=frame.now, tally=frame.tally, in_transaction=True
        )
        return MutationCtx(db=db, scheduler=scheduler, **common)
    db_reader = DatabaseReader(
        using=using,
        budget=frame.budget,
        reads=frame.reads,
        lock_rows=frame.lock_rows,
        journal=frame.journal,
    )
    frame.reader = db_reader
    return QueryCtx(db=db_reader, **common)


def _run_nested(
    fn: AnyFunction,
    path: str,
    kwargs: dict[str, Any],
    identity: Identity | None,
    outcome: Outcome,
    using: str,
    parent: Frame,
) -> None:
    """A query or mutation called from a running query or mutation: same transaction."""
    if fn.kind is Kind.MUTATION and parent.kind is not Kind.MUTATION:
        raise NotAllowedHere(f"{path}: a query cannot run a mutation")
    child = Frame(
        fn.kind,
        parent.budget,
        parent.reads,
        WriteSet() if fn.kind is Kind.MUTATION else None,
        parent.lock_rows,
        parent.now,
        parent.child_seed(),
        tally=parent.tally,
    )
    ctx = _make_ctx(fn, path, child, identity, using)
    outcome.reads, outcome.writes, outcome.attempts = parent.reads, child.writes, 1
    if fn.kind is Kind.MUTATION:

        def body(n: int) -> None:
            # the result is validated inside the savepoint: a bad one rolls the writes back
            _finish(fn, path, call_handler(fn, ctx, kwargs), outcome)

        with _push(child):
            run_in_transaction(
                body, using=using, isolation="serializable", policy=reactive_settings.RETRY
            )  # a savepoint in the parent's
        assert parent.writes is not None and child.writes is not None
        parent.writes.extend(child.writes)
    else:
        with _push(child):
            value = call_handler(fn, ctx, kwargs)
        _finish(fn, path, value, outcome)


def _run_action(
    fn: AnyFunction,
    path: str,
    kwargs: dict[str, Any],
    identity: Identity | None,
    outcome: Outcome,
    using: str,
) -> None:
    limits = reactive_settings.LIMITS

    def call(ref: Any, args: Any, want: Kind) -> Any:
        return execute(ref, args, identity=identity, kind=want, using=using).unwrap()

    scheduler = Scheduler(path=path, using=using, now=None, tally=Tally(), in_transaction=False)
    ctx = ActionCtx(
        auth=Auth(identity), log=FunctionLog(path), path=path, _call=call, scheduler=scheduler
    )
    started = time.monotonic()
    if fn.is_async:
        value = async_to_sync(fn.handler)(ctx, **kwargs)
    else:
        value = fn.handler(ctx, **kwargs)
    if time.monotonic() - started > limits.action_seconds:
        raise LimitExceeded(f"{path}: the action ran longer than {limits.action_seconds:g} s")
    outcome.attempts = 1
    _finish(fn, path, value, outcome)
