"""What a call returns (`Outcome`), what callers may ask of it (`CallOptions`), and what clients
see of a failed call: its message (`error_message`) and, for a `ConvexError`, its data
(`error_data`), the same for HTTP, WebSocket responses and subscription results. Data only; the
executor fills them in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConvexError, FunctionError
from ..readset import ReadSet, WriteSet
from ..values import ValueEncodingError, encode
from .registry import Kind


@dataclass(frozen=True)
class Receipt:
    """What a WebSocket mutation asks of its call beyond running it: a commit ts in
    `Outcome.ts`, exactly-once delivery across reconnects, and its transaction id before COMMIT.
    Only `functions/ledger.py` reads it; the executor passes it through."""

    idempotency_key: tuple[str, int] | None = None  # (sessionId and caller, requestId)
    #: Look for a stored response first: only a session that reconnected can re-send a request
    #: (a fresh one cannot have used the id), so the lookup is skipped otherwise.
    check_stored: bool = True
    # called (in the executor's thread) with the mutation's transaction id just before COMMIT,
    # and with None when an attempt rolls back
    before_commit: Callable[[int | None], None] | None = None


@dataclass(frozen=True)
class CallOptions:
    """What a caller asks of a call beyond running it."""

    journal: dict[str, Any] | None = None  # a subscription's journal (pagination end cursor)
    #: Work that must share the mutation's transaction (the scheduler's exactly-once record):
    #: ``before(using)`` runs first and may return False to skip the call (it already ran);
    #: ``after(using, outcome)`` runs after a successful call, before COMMIT.
    guard: TransactionGuard | None = None
    receipt: Receipt | None = None  # a WebSocket mutation's (see `Receipt`)
    #: False: a query called inside a transaction its caller opened runs without a savepoint of
    #: its own (the listener's re-runs, which check the transaction after each and run the tick
    #: again with savepoints if one left it failed). Mutations always get one.
    savepoint: bool = True
    #: The request an HTTP action answers (`reactive.http` sets it; nothing else may): such a
    #: function receives it instead of arguments and returns the response unchecked here.
    http_request: Any = None


class TransactionGuard:
    """See `CallOptions.guard`."""

    def before(self, using: str) -> bool:
        return True

    def after(self, using: str, outcome: Outcome) -> None:
        pass


NO_OPTIONS = CallOptions()


@dataclass
class Outcome:
    """The result of one call."""

    path: str
    value: Any = None
    encoded: Any = None  # the value in convex_encoded_json
    error: FunctionError | None = None
    log_lines: list[str] = field(default_factory=list)
    ts: int | None = None  # issued after a mutation's commit (with a Receipt): see reactive.clock
    xid: int | None = None  # a mutation's transaction id (with a Receipt), None if it wrote nothing
    journal: dict[str, Any] | None = None  # a paginated query's page end, for re-runs
    reads: ReadSet | None = None
    writes: WriteSet | None = None
    attempts: int = 0
    kind: Kind | None = None
    replayed: bool = False  # answered from a stored response (a re-sent mutation)
    skipped: bool = False  # not run: the CallOptions.guard found it had already run

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def error_message(error: FunctionError, *, clean: bool = False) -> str:
    """The `errorMessage` a client sees for an error (``clean`` for the `json` format)."""
    if isinstance(error, ConvexError):
        data = error.data
        try:
            shown = (
                data
                if isinstance(data, str)
                else json.dumps(encode(data, clean=clean), sort_keys=True)
            )
        except ValueEncodingError:
            shown = repr(data)
        return f"Uncaught ConvexError: {shown}"
    return error.message


def error_data(
    error: FunctionError, *, clean: bool = False, unencodable_as_null: bool = False
) -> dict[str, Any]:
    """The ConvexError payload a client sees beside the message: ``{"errorData": data}``, the
    error's data encoded (``clean`` for the `json` format); ``{}`` for any other error.

    Data that is not a Convex value is left out, or sent as null with ``unencodable_as_null``
    (what the HTTP API does); its message still shows it (`error_message`).
    """
    if not isinstance(error, ConvexError):
        return {}
    try:
        return {"errorData": encode(error.data, clean=clean)}
    except ValueEncodingError:
        return {"errorData": None} if unencodable_as_null else {}
