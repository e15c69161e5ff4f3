"""Stored mutation responses, written inside the mutation's own transaction.

`stored_response` and `store_response` give WebSocket mutations exactly-once semantics across
reconnects: the response is stored in the same transaction as the writes, so it exists if and
only if they committed. The transaction id is stored with it (and returned by `transaction_id`
for mutations without a key): after the commit, `reactive.clock.timeline.stamp(xid)` turns it
into the mutation's ts, for the first answer and for a replayed one alike.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connections


def stored_response(using: str, key: tuple[str, int]) -> dict[str, Any] | None:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT response FROM reactive_mutation_result "
            "WHERE session_id = %s AND request_id = %s",
            list(key),
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def transaction_id(using: str) -> int | None:
    """This transaction's id, or None if it wrote nothing (and so has none)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned()::text")
        (xid,) = cursor.fetchone()
    return None if xid is None else int(xid)


def store_response(using: str, key: tuple[str, int], response: dict[str, Any]) -> int:
    """Store the response with this transaction's id in it (as "xid"); returns the id."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "INSERT INTO reactive_mutation_result (session_id, request_id, response, created) "
            "VALUES (%s, %s, jsonb_set(%s::jsonb, '{xid}', "
            "to_jsonb(pg_current_xact_id()::text)), now()) RETURNING response->>'xid'",
            [key[0], key[1], json.dumps(response)],
        )
        (xid,) = cursor.fetchone()
    return int(xid)


def prune_responses(using: str, older_than_seconds: float) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "DELETE FROM reactive_mutation_result "
            "WHERE created < now() - make_interval(secs => %s)",
            [older_than_seconds],
        )
        deleted: int = cursor.rowcount
        return deleted
