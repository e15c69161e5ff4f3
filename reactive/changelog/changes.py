"""Reading the change log by transaction visibility, and keeping it pruned. Synchronous SQL.

`read_changes(last)` runs inside the listener's REPEATABLE READ snapshot and returns the rows
committed after snapshot `last` was taken and visible in the current one, as `DocWrite`s with
Python column values (parsed by each column's own field). A TRUNCATE (op ``T``, no row), a row
whose table is not registered in this process, or one whose columns cannot be parsed becomes a
whole-table write, so nothing is missed. `tick_start` takes the snapshot and reads them in the
same statement (a tick's one round trip before its re-runs).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import connections
from psycopg import errors as psycopg_errors
from psycopg import pq

from ..db.tables import Table, tables
from ..readset import DocWrite
from .sql import sql

OPS = {"I": "insert", "U": "update", "D": "delete", "T": "delete"}
TRUNCATE = "T"


#: What a pg_snapshot's text can hold ("xmin:xmax:xip,xip"): safe to write as a literal.
_SNAPSHOT = re.compile(r"[0-9]+:[0-9]+:[0-9,]*")
_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


def tick_start(raw: Any, last: str | None, timeout_ms: int) -> tuple[str, list[DocWrite]]:
    """Open a tick's REPEATABLE READ READ ONLY transaction on the psycopg connection ``raw``
    (idle: no transaction open) and run its first statement, both in one message and one round
    trip: the snapshot it takes, and the writes committed after snapshot ``last`` and visible
    in it; the transaction's later statements time out after ``timeout_ms``.

    It goes to libpq directly, as one simple-protocol query: through a cursor psycopg would
    send its own BEGIN first, one round trip more per tick. Both values are checked before
    they are written into the text. psycopg sees the transaction open and sends no BEGIN of
    its own to the statements after it; COMMIT and ROLLBACK go the usual way."""
    if last is not None and not _SNAPSHOT.fullmatch(last):
        raise ValueError(f"not a pg_snapshot: {last!r}")
    query = sql("tick_start").replace("%(last)s", "NULL" if last is None else f"'{last}'")
    query = query.replace("%(timeout)s", f"'{int(timeout_ms)}'")
    result = raw.pgconn.exec_(f"{_BEGIN}; {query}".encode())
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise psycopg_errors.error_from_result(result, encoding=raw.info.encoding)
    rows = [[_text(result.get_value(r, c)) for c in range(6)] for r in range(result.ntuples)]
    writes = [
        to_write(tbl, op, old, new)
        for _, _, tbl, op, old, new in rows
        if tbl is not None and op is not None  # (a row of nulls: no writes)
    ]
    return str(rows[0][0]), writes


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


def current_snapshot(using: str) -> str:
    """This transaction's snapshot (taken by this statement if it is the first)."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql("current_snapshot"))
        (snapshot,) = cursor.fetchone()
    return str(snapshot)


def read_changes(using: str, last: str) -> list[DocWrite]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql("changes_since"), {"last": last})
        rows = cursor.fetchall()
    return [to_write(tbl, op, old, new) for tbl, op, old, new in rows]


def _row(table: Table, raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    data = raw if isinstance(raw, dict) else json.loads(raw)
    fields = {f.attname: f for f in table.model._meta.concrete_fields}
    row = {}
    for column, value in data.items():
        field = fields.get(column)
        row[column] = value if field is None or value is None else field.to_python(value)
    return row


def to_write(tbl: str, op: str, old: Any, new: Any) -> DocWrite:
    table = tables.find(tbl)
    if table is None or op == TRUNCATE:
        return DocWrite(tbl, None, OPS.get(op, "update"), whole_table=True)
    try:
        old_row, new_row = _row(table, old), _row(table, new)
    except Exception:  # a column the trigger wrote that this process cannot parse
        return DocWrite(tbl, None, OPS.get(op, "update"), whole_table=True)
    pk = (new_row or old_row or {}).get(table.pk_column)
    return DocWrite(tbl, pk, OPS.get(op, "update"), old_row, new_row)


def heartbeat(using: str, listener_id: str, snapshot: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(sql("listener_heartbeat"), {"id": listener_id, "snapshot": snapshot})


def forget(using: str, listener_id: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(sql("listener_forget"), {"id": listener_id})


def prune(using: str, stale_seconds: float, retention_seconds: float) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(
            sql("prune_changes"),
            {"stale_seconds": stale_seconds, "retention_seconds": retention_seconds},
        )
        deleted: int = cursor.rowcount
        return deleted
