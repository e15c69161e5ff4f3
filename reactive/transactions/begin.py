"""Open a transaction and run its first statements in one round trip.

Inside ``transaction.atomic()``, psycopg sends its own ``BEGIN`` before the first statement: a
round trip of its own, before ``SET TRANSACTION ISOLATION LEVEL ...`` and the ``SET LOCAL``
flags take another. `begin` sends ``BEGIN ISOLATION LEVEL ...; SET LOCAL ...`` as one
simple-protocol message, straight to libpq, as `changelog.changes.tick_start` does for the
listener's ticks (decision 118): psycopg then sees the transaction open and adds no BEGIN of its
own; COMMIT and ROLLBACK go the usual way, through Django's `Atomic`.

It applies only where that is exactly equivalent: the connection is open with no transaction
and no statement logging or execute wrapper of Django's expects to see every statement
(``DEBUG`` query logging, ``CaptureQueriesContext``, ``connection.execute_wrapper``: those get
the old two statements through a cursor, so what they record stays complete). Errors are
Django's, through the connection's ``wrap_database_errors``, as a cursor's would be.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from psycopg import errors as psycopg_errors
from psycopg import pq


def begin(using: str, level: str, statements: list[str]) -> None:
    """In an outermost ``atomic(using=using)`` block that has run nothing yet: start its
    transaction at isolation ``level`` (e.g. ``"SERIALIZABLE READ ONLY"``) and run
    ``statements`` (``SET LOCAL`` flags, trusted SQL of this package), in one round trip
    when `begin` can, else in two as Django would."""
    conn = connections[using]
    raw: Any = conn.connection
    if (
        raw is None
        or raw.closed
        or raw.info.transaction_status != pq.TransactionStatus.IDLE
        or conn.queries_logged
        or conn.execute_wrappers
    ):
        with conn.cursor() as cursor:
            cursor.execute("; ".join([f"SET TRANSACTION ISOLATION LEVEL {level}", *statements]))
        return
    text = "; ".join([f"BEGIN ISOLATION LEVEL {level}", *statements])
    with conn.wrap_database_errors:
        result = raw.pgconn.exec_(text.encode())
        if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
            error = psycopg_errors.error_from_result(result, encoding=raw.info.encoding)
            if raw.pgconn.status == pq.ConnStatus.BAD and not isinstance(
                error, psycopg_errors.OperationalError
            ):
                # The connection was lost during the message. libpq's PQexec returns its last
                # result, "server closed the connection", which has no SQLSTATE (a FATAL error
                # before it, such as 57P01, is dropped): a bare DatabaseError. Through a cursor
                # psycopg raises OperationalError, which is what callers look for
                # (`failures.is_connection_failure`: DatabaseUnavailable, a scheduled mutation
                # retried instead of failed).
                raise psycopg_errors.OperationalError(str(error)) from error
            raise error
