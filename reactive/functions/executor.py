"""The one entry point that runs every function call, from every caller.

HTTP views, the WebSocket consumer, `manage.py reactive run`, `reactive.testing` and nested
`ctx.run_*` calls all come through `execute()`: resolve the path → refuse internal functions to
clients → validate the arguments → run → one `Outcome`. A query or mutation called from outside
any function runs in its own transaction (queries at one REPEATABLE READ READ ONLY snapshot;
mutations SERIALIZABLE or lock-based, retried on conflicts), each try an `attempt.Attempt`; one
called from a running query or mutation runs in the caller's frame and transaction (`frames`);
actions run outside any transaction. An HTTP action (`reactive.http`) runs as an action, given
the request its route received (`CallOptions.http_request`) instead of arguments; no other call
reaches it. The `Outcome` carries the value, the error (never raised to
transports), the log lines, the commit timestamp, and the read and write sets that the sync
engine consumes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync

from ..auth import Auth, Identity
from ..conf import reactive_settings
from ..errors import (
    ConflictError,
    FunctionError,
    FunctionNotFound,
    LimitExceeded,
    NotAllowedHere,
    RetriesExhausted,
)
from ..observe import stats
from ..readset import ReadSet, WriteSet
from ..scheduler.schedule import Scheduler, Tally
from ..transactions.retry import RetryTransaction, in_transaction, run_in_transaction
from . import ledger
from .attempt import Attempt
from .context import ActionCtx
from .failures import call_handler, to_function_error
from .frames import Caller, Frame, current_frame, make_ctx, pushed
from .logs import FunctionLog, LogSink, collect_logs
from .outcome import NO_OPTIONS, CallOptions, Outcome
from .references import FunctionReference
from .registry import AnyFunction, Kind, resolve, validate_args, validate_result
from .signals import mutation_committed

logger = logging.getLogger("reactive.executor")


@dataclass
class _Footprint:
    """What a call had done when it failed, reported with its error (which depends on it)."""

    reads: ReadSet | None = None
    writes: WriteSet | None = None
    attempts: int = 0


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
    """Run one function call and return its `Outcome` (errors are returned in it, not raised).

    Args:
        ref: ``api.x.y`` / ``internal.x.y``, or a path string (``"chat:send"``).
        args: The arguments object (already decoded from the wire); None means ``{}``.
        identity: Who is calling (None: anonymous).
        from_client: True for HTTP/WebSocket callers: internal functions are then not found.
        kind: The kind the caller expects (``/api/query`` expects a query), checked if given.
        using: The Django database alias.
        options: Journal, commit position and idempotency, for the sync engine.
    """
    started = time.perf_counter_ns()
    top = current_frame() is None  # a nested call is counted as part of its caller's
    sink = LogSink()
    path = ref.path if isinstance(ref, FunctionReference) else str(ref)
    with collect_logs(sink) as shared:
        outcome = _outcome(ref, path, args, identity, from_client, kind, using, options)
    if shared is sink and not outcome.replayed:
        outcome.log_lines = sink.lines
    if top:
        stats.record(outcome, time.perf_counter_ns() - started)  # the admin's figures
    return outcome


def _outcome(
    ref: FunctionReference | str,
    path: str,
    args: Any,
    identity: Identity | None,
    from_client: bool,
    kind: Kind | str | None,
    using: str,
    options: CallOptions,
) -> Outcome:
    """Resolve and run the call; a failure becomes the error of the one `Outcome`."""
    fn: AnyFunction | None = None
    footprint = _Footprint()
    try:
        path, fn = resolve(ref, from_client=from_client)
        _check_kind(path, fn, kind)
        if fn.http or options.http_request is not None:
            kwargs = _http_kwargs(fn, path, options)
        else:
            kwargs = validate_args(fn, path, {} if args is None else args)
        return _run(fn, path, kwargs, identity, using, options, footprint)
    except FunctionError as exc:
        error: FunctionError = exc
    except RetryTransaction as exc:
        if current_frame() is not None:
            raise  # nested: the outermost transaction retries
        # Inside a transaction the caller opened (no retry is possible from here).
        error = ConflictError(
            f"{path}: write conflict (SQLSTATE {exc.sqlstate}) inside a transaction opened "
            "by the caller, which reactive cannot retry; nothing was written."
        )
    except Exception as exc:  # user code failing in any other way
        error = to_function_error(path, exc)
    return Outcome(
        path=path,
        kind=None if fn is None else fn.kind,
        error=error,
        reads=footprint.reads,
        writes=footprint.writes,
        attempts=footprint.attempts,
    )


def _check_kind(path: str, fn: AnyFunction, kind: Kind | str | None) -> None:
    if kind is not None and Kind(kind) is not fn.kind:
        raise FunctionNotFound(
            f"Trying to execute {path} as {Kind(kind).value.capitalize()}, but it is "
            f"defined as {fn.kind.value.capitalize()}."
        )


def _http_kwargs(fn: AnyFunction, path: str, options: CallOptions) -> dict[str, Any]:
    """An HTTP action takes the request its route received, and nothing else does."""
    if not fn.http:
        raise NotAllowedHere(f"{path}: is not an HTTP action; it cannot answer a request")
    if options.http_request is None:
        raise FunctionNotFound(
            f"{path} is an HTTP action: it runs when a request reaches its route "
            "(reactive.http.HttpRouter), not as a function call"
        )
    return {"request": options.http_request}


def _run(
    fn: AnyFunction,
    path: str,
    kwargs: dict[str, Any],
    identity: Identity | None,
    using: str,
    options: CallOptions,
    footprint: _Footprint,
) -> Outcome:
    parent = current_frame()
    caller = _caller(identity, using)
    if fn.kind is Kind.ACTION:
        if parent is not None:
            raise NotAllowedHere(f"{path}: actions cannot be called from queries or mutations")
        return _run_action(fn, path, kwargs, identity, using, caller, footprint)
    if parent is not None:
        return _run_nested(fn, path, kwargs, identity, using, caller, parent, footprint)
    return _run_top(Attempt(fn, path, kwargs, identity, using, options, caller), footprint)


def _caller(identity: Identity | None, using: str) -> Caller:
    """How the ctx of this call runs other functions: as the same identity, on the same alias."""

    def call(ref: Any, args: Any, want: Kind) -> Any:
        return execute(ref, args, identity=identity, kind=want, using=using).unwrap()

    return call


def _run_top(attempt: Attempt, footprint: _Footprint) -> Outcome:
    """A query or mutation called from outside any function: its own transaction, retried."""
    using, is_mutation = attempt.using, attempt.is_mutation
    if is_mutation:
        isolation = "read_committed" if attempt.lock_rows else "serializable"
    else:
        isolation = "repeatable_read"
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
        outcome, attempts = run_in_transaction(
            attempt,
            using=using,
            isolation=isolation,
            read_only=not is_mutation,
            policy=reactive_settings.RETRY,
            timeout_seconds=reactive_settings.LIMITS.function_seconds,
            setup=setup,
            queue_key=f"reactive:{attempt.path}" if is_mutation else None,
            savepoint=is_mutation or attempt.options.savepoint,
        )
    except Exception as exc:
        # A failed query's result (its error) depends on what it read too: a subscription
        # showing an error must re-run when those rows change.
        footprint.reads = attempt.reads
        # the admin's figures count the retries, also of a call that then failed otherwise
        footprint.attempts = exc.attempts if isinstance(exc, RetriesExhausted) else attempt.number
        raise
    outcome.attempts = attempts
    if is_mutation and not in_transaction(using):
        ledger.stamp(outcome, attempt.options)
        if not outcome.replayed:
            mutation_committed.send(sender=None, outcome=outcome)
    return outcome


def _run_nested(
    fn: AnyFunction,
    path: str,
    kwargs: dict[str, Any],
    identity: Identity | None,
    using: str,
    caller: Caller,
    parent: Frame,
    footprint: _Footprint,
) -> Outcome:
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
    ctx = make_ctx(fn, path, child, identity, using, caller)
    footprint.reads, footprint.writes, footprint.attempts = parent.reads, child.writes, 1
    if fn.kind is Kind.MUTATION:

        def body(n: int) -> tuple[Any, Any]:
            # the result is validated inside the savepoint: a bad one rolls the writes back
            return validate_result(fn, path, call_handler(fn, ctx, kwargs))

        with pushed(child):
            (value, encoded), _ = run_in_transaction(
                body, using=using, isolation="serializable", policy=reactive_settings.RETRY
            )  # a savepoint in the parent's
        assert parent.writes is not None and child.writes is not None
        parent.writes.extend(child.writes)
    else:
        with pushed(child):
            returned = call_handler(fn, ctx, kwargs)
        value, encoded = validate_result(fn, path, returned)
    return Outcome(
        path=path,
        kind=fn.kind,
        value=value,
        encoded=encoded,
        reads=parent.reads,
        writes=child.writes,
        attempts=1,
    )


def _run_action(
    fn: AnyFunction,
    path: str,
    kwargs: dict[str, Any],
    identity: Identity | None,
    using: str,
    caller: Caller,
    footprint: _Footprint,
) -> Outcome:
    """An action: no transaction and no frame; what it reads and writes goes through calls."""
    limits = reactive_settings.LIMITS
    scheduler = Scheduler(path=path, using=using, now=None, tally=Tally(), in_transaction=False)
    ctx = ActionCtx(
        auth=Auth(identity),
        log=FunctionLog(path),
        path=path,
        _call=caller,
        _using=using,
        scheduler=scheduler,
        _internal=fn.internal,
    )
    started = time.monotonic()
    if fn.is_async:
        value = async_to_sync(fn.handler)(ctx, **kwargs)
    else:
        value = fn.handler(ctx, **kwargs)
    if time.monotonic() - started > limits.action_seconds:
        raise LimitExceeded(f"{path}: the action ran longer than {limits.action_seconds:g} s")
    footprint.attempts = 1
    if fn.http:  # the response: reactive.http checks and sends it
        return Outcome(path=path, kind=fn.kind, value=value, attempts=1)
    value, encoded = validate_result(fn, path, value)
    return Outcome(path=path, kind=fn.kind, value=value, encoded=encoded, attempts=1)
