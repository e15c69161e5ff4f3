"""Every exception reactive raises, in one tree.

    ReactiveError
    ├── FunctionError                 reaches clients as a function error (HTTP 200 status:"error")
    │   ├── ConvexError               raised by user code; carries `data` to the client as errorData
    │   ├── FunctionNotFound          unknown path, or an internal function called by a client
    │   ├── ArgumentValidationError   args fail the function's validators (names function and field)
    │   ├── ReturnValidationError     the handler returned a value its `returns` rejects
    │   ├── InvalidId                 a string that is not an id of the table it is used with
    │   ├── DocumentNotFound          patch/replace/delete of an id that does not exist
    │   ├── DocumentValidationError   a write that the model's fields reject
    │   ├── QueryError                a malformed ctx.db query (bad index range, unique() on many)
    │   ├── LimitExceeded             a per-function limit (documents, bytes, ranges, time, size)
    │   ├── ConflictError             a mutation still conflicted after every retry
    │   ├── NotAllowedHere            e.g. ctx.run_action from a mutation, network I/O in a query
    │   ├── SchedulerError            a refused run_after/run_at/cancel; nothing was scheduled
    │   ├── RuleDenied                a row-level rule refused a write (names table, operation)
    │   ├── RuleFailed                a row-level rule raised or returned a non-bool
    │   └── InternalError             anything unexpected; its details are hidden outside DEBUG
    │       └── DatabaseUnavailable   the database connection failed mid-call
    ├── RequestError                  a malformed request (HTTP 4xx {"code","message"}), not a call
    ├── ProtocolError                 a WebSocket frame that breaks the sync protocol (FatalError)
    ├── ValueEncodingError            not a Convex value (also a ValueError); callers translate it
    ├── RetriesExhausted              the retry loop gave up; becomes a ConflictError
    ├── TransientFailure              a scheduled mutation to try again later (procrastinate retry)
    │   └── ConnectionLost            ... with no limit on the tries: the database went away
    └── ConfigurationError            a developer mistake found at start-up; never sent to clients
        ├── DuplicateFunction
        └── UnknownTable

    ControlFlow (BaseException)       not an error: a signal that unwinds to the code that sent it
    └── RetryTransaction              a retryable database failure; the retry loop retries

Only `FunctionError`s reach a caller as they are; the executor translates anything else raised in
a call (see docs/errors.md). `ControlFlow` is a `BaseException` so that `except Exception` in user
code cannot swallow it.
"""

from __future__ import annotations

from typing import Any


class ReactiveError(Exception):
    """Base class of every reactive error."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or type(self).__name__).strip()
        super().__init__(self.message)


class FunctionError(ReactiveError):
    """A function call failed."""

    code = "FunctionError"


class ConvexError(FunctionError):
    """An application error carrying data to the client.

    Raise it from any function; the client receives ``data`` as ``errorData`` (the JS client
    throws ``ConvexError`` with ``.data``, the Python client ``convex.ConvexError``).

    Example:
        >>> raise ConvexError({"code": "NOT_MEMBER", "channel": channel_id})
    """

    code = "ConvexError"

    def __init__(self, data: Any = None, message: str | None = None) -> None:
        self.data = data
        if message is None:
            message = data if isinstance(data, str) else "ConvexError"
        super().__init__(message)


class FunctionNotFound(FunctionError):
    """No public function has this path."""

    code = "FunctionNotFound"


class ArgumentValidationError(FunctionError):
    """The arguments do not match the function's validators."""

    code = "ArgumentValidationError"


class ReturnValidationError(FunctionError):
    """The function returned a value that its `returns` validator rejects."""

    code = "ReturnValidationError"


class InvalidId(FunctionError):
    """The string is not a valid id of the table."""

    code = "InvalidId"


class DocumentNotFound(FunctionError):
    """No document has this id."""

    code = "DocumentNotFound"


class DocumentValidationError(FunctionError):
    """The document does not fit the table's fields."""

    code = "DocumentValidationError"


class QueryError(FunctionError):
    """The database query is malformed."""

    code = "QueryError"


class LimitExceeded(FunctionError):
    """The function went over one of its limits."""

    code = "LimitExceeded"


class ConflictError(FunctionError):
    """The mutation kept conflicting with concurrent writes and was not applied."""

    code = "OptimisticConcurrencyControlFailure"


class NotAllowedHere(FunctionError):
    """This operation is not allowed in this kind of function."""

    code = "NotAllowedHere"


class InternalError(FunctionError):
    """Server Error"""

    code = "InternalServerError"


class DatabaseUnavailable(InternalError):
    """The database connection failed mid-call (restart, network): nothing of the call is
    known to have committed, and retrying it is safe for anything that checks what did (as
    scheduled mutations do)."""


class SchedulerError(FunctionError):
    """A scheduling call was malformed: a bad reference, arguments, time or id, or over a
    limit. Nothing was scheduled."""

    code = "SchedulerError"


class RuleDenied(FunctionError):
    """A row-level rule (`reactive.rules`) refused this write. The message names the table and
    the operation, never the document's contents. Nothing was written."""

    code = "RuleDenied"


class RuleFailed(FunctionError):
    """A row-level rule raised, or returned something other than a bool. The message names the
    table and the rule, not what the rule raised (that goes to the server log). Nothing was
    written."""

    code = "RuleFailed"


class RequestError(ReactiveError):
    """The request is malformed."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        self.code = code
        self.status = status
        super().__init__(message)


class ProtocolError(ReactiveError):
    """A frame that breaks the protocol; the socket is closed after a FatalError."""


class ValueEncodingError(ReactiveError, ValueError):
    """A value that cannot be represented as a Convex value.

    Also a ``ValueError``, so code that decodes untrusted input with ``except ValueError`` catches
    it. Each caller translates it (an HTTP ``BadArgs``, a ``ProtocolError``, a ``SchedulerError``,
    a ``ReturnValidationError`` for a return value that is not a Convex value).
    """


class RetriesExhausted(ReactiveError):
    """The retry loop (`transactions.retry`) gave up on a retryable failure; the executor reports
    it as a `ConflictError`."""

    def __init__(self, attempts: int, sqlstate: str, queued_seconds: float | None = None) -> None:
        super().__init__(f"still failing with SQLSTATE {sqlstate} after {attempts} attempts")
        self.attempts, self.sqlstate = attempts, sqlstate
        self.queued_seconds = queued_seconds  # set when its turn in the queue timed out


class TransientFailure(ReactiveError):
    """A scheduled mutation failed in a way worth retrying (a conflict, a lost connection)."""


class ConnectionLost(TransientFailure):
    """A scheduled function's try lost its database connection. It is tried again until the
    database answers, however many tries that takes: an outage is not the function's failure,
    and no try ever counts toward ``SCHEDULER['mutation_attempts']`` as the last one."""


class ConfigurationError(ReactiveError):
    """reactive is configured wrongly."""


class DuplicateFunction(ConfigurationError):
    """Two functions were registered under one path."""


class UnknownTable(ConfigurationError):
    """No model is registered under this table name."""


class ControlFlow(BaseException):
    """Base class of the signals that unwind the stack on purpose; not errors.

    A BaseException so that ``except Exception`` in user code cannot swallow one and carry on.
    """


class RetryTransaction(ControlFlow):
    """The transaction hit a retryable failure; unwind to the retry loop.

    Carries the SQLSTATE (40001, 40P01, 55P03 or a retried race) so the retry loop can count it.
    """

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate
