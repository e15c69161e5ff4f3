"""How a call fails: mapping exceptions to client-facing errors, and catching database errors
that user code swallowed (which leave the transaction aborted). Used by the executor only.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connections
from psycopg.pq import TransactionStatus

from ..conf import reactive_settings
from ..errors import (
    ConflictError,
    DatabaseUnavailable,
    DocumentValidationError,
    FunctionError,
    InternalError,
    LimitExceeded,
)
from ..transactions.retry import (
    RetriesExhausted,
    RetryTransaction,
    is_retryable,
    sqlstate_of,
)
from .registry import AnyFunction

logger = logging.getLogger("reactive.executor")


def to_function_error(path: str, exc: BaseException) -> FunctionError:
    if isinstance(exc, IntegrityError):
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "integrity error"
        return DocumentValidationError(
            f"{path}: the write violates a database constraint: {detail}"
        )
    if isinstance(exc, DataError) and "NUL" in str(exc):
        return DocumentValidationError(
            f"{path}: a string holds a NUL character (\\u0000), which Postgres text can neither "
            "store nor compare; strip it or send the data as bytes"
        )
    if sqlstate_of(exc) == "57014":  # query_canceled: our statement_timeout fired
        limit = reactive_settings.LIMITS.function_seconds
        return LimitExceeded(
            f"{path}: execution time limit exceeded: a database statement was "
            f"cancelled after the function's {limit:g} s. Read less per call."
        )
    if isinstance(exc, RetriesExhausted):
        during = (
            f" ({exc.queued_seconds:g} s after its turn came, RETRY['queued_seconds'])"
            if exc.queued_seconds is not None
            else ""
        )
        return ConflictError(
            f"{path}: write conflict: the mutation ran {exc.attempts} times{during} and "
            f"still conflicted with concurrent writes (SQLSTATE {exc.sqlstate}); nothing was "
            "written. "
            "Read less (narrower index ranges) or use isolation='select_for_update' for hot rows."
        )
    if is_connection_failure(exc):
        logger.warning("%s: database connection failed: %s", path, exc)
        return DatabaseUnavailable(
            f"{path}: the database connection failed ({exc})" if settings.DEBUG else "Server Error"
        )
    logger.error("Uncaught error in %s", path, exc_info=exc)
    if settings.DEBUG:
        tb = "".join(traceback.format_exception(exc)).rstrip()
        return InternalError(f"Uncaught {type(exc).__name__} in {path}: {exc}\n{tb}")
    hidden = InternalError("Server Error")
    hidden.__cause__ = exc  # for the server side only (the admin's run form shows it)
    return hidden


def is_connection_failure(exc: BaseException) -> bool:
    """A lost or refused connection, or a server shutting down (SQLSTATE 08xxx, 57P0x)."""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    state = sqlstate_of(exc)
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def watching(failures: list[Exception]) -> Callable[..., Any]:
    """An execute_wrapper that remembers every SQL error, even one user code then catches."""

    def watch(execute_sql: Any, sql: Any, params: Any, many: Any, context: Any) -> Any:
        try:
            return execute_sql(sql, params, many, context)
        except Exception as exc:
            failures.append(exc)
            raise

    return watch


def raise_if_aborted(using: str, failures: list[Exception]) -> None:
    """A handler that caught a database error leaves the transaction aborted: COMMIT would then
    roll back silently while the call reported success. Raise the error instead (retryable
    ones, such as a serialization failure, retry the whole call)."""
    raw = connections[using].connection
    if failures and raw is not None and raw.info.transaction_status == TransactionStatus.INERROR:
        exc = failures[-1]
        if is_retryable(exc):
            raise RetryTransaction(sqlstate_of(exc) or "40001") from exc
        raise exc


def call_handler(fn: AnyFunction, ctx: Any, kwargs: dict[str, Any]) -> Any:
    try:
        return fn.handler(ctx, **kwargs)
    except Exception as exc:
        if is_retryable(exc):  # keep user code from swallowing a serialization failure
            raise RetryTransaction(sqlstate_of(exc) or "40001") from exc
        raise
