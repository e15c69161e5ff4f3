"""A mutation's position and stored responses, written inside the mutation's own transaction.

`commit_position` returns the writing transaction's id + 1. The sync engine's Transition
timestamps are snapshot `xmin`s (every transaction below has finished), so a Transition whose ts
is at least a MutationResponse's ts comes from a snapshot that sees the mutation's writes.
`stored_response` and `store_response` give WebSocket mutations exactly-once semantics across
reconnects: the response is stored in the same transaction as the writes, so it exists if and
only if they committed.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connections


def commit_position(using: str) -> int | None:
    """Our transaction id + 1, or None if the transaction wrote nothing (has no id)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned()::text")
        (xid,) = cursor.fetchone()
    return None if xid is None else int(xid) + 1


def stored_response(using: str, key: tuple[str, int]) -> dict[str, Any] | None:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT response FROM reactive_mutation_result "
                       "WHERE session_id = %s AND request_id = %s", list(key))
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def store_response(using: str, key: tuple[str, int], response: dict[str, Any]) -> int:
    """Store the response with this transaction's position in it; returns the position."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "INSERT INTO reactive_mutation_result (session_id, request_id, response, created) "
            "VALUES (%s, %s, jsonb_set(%s::jsonb, '{ts}', "
            "to_jsonb((pg_current_xact_id()::text::bigint + 1)::text)), now()) "
            "RETURNING response->>'ts'",
            [key[0], key[1], json.dumps(response)],
        )
        (ts,) = cursor.fetchone()
    return int(ts)


def prune_responses(using: str, older_than_seconds: float) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute("DELETE FROM reactive_mutation_result "
                       "WHERE created < now() - make_interval(secs => %s)", [older_than_seconds])
        return cursor.rowcount
