"""A mutation's receipt: its stored response and transaction id, and the ts they turn into.

This is what a WebSocket mutation asks of its call beyond running it (`CallOptions.receipt`,
a `Receipt`); the attempt calls `retrying`, `replay` and `record`, the executor `stamp`, and
neither reads the receipt itself.

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

from .. import clock
from ..values import decode
from .logs import current_lines
from .outcome import CallOptions, Outcome
from .registry import Kind


def retrying(options: CallOptions) -> None:
    """A new attempt starts: the last attempt's transaction rolled back."""
    receipt = options.receipt
    if receipt is not None and receipt.before_commit is not None:
        receipt.before_commit(None)


def replay(using: str, path: str, options: CallOptions) -> Outcome | None:
    """The stored answer to a re-sent mutation (not to be run again), or None."""
    receipt = options.receipt
    if receipt is None or receipt.idempotency_key is None or not receipt.check_stored:
        return None
    key = receipt.idempotency_key
    stored = stored_response(using, key)
    if stored is None:
        return None
    xid = stored.get("xid")
    replayed = Outcome(
        path=path,
        kind=Kind.MUTATION,
        value=decode(stored["value"]) if stored.get("value") is not None else None,
        encoded=stored.get("value"),
        log_lines=list(stored.get("logLines", [])),
        xid=int(xid) if xid is not None else None,
        replayed=True,
    )
    if receipt.before_commit is not None:
        receipt.before_commit(replayed.xid)
    return replayed


def record(using: str, options: CallOptions, encoded: Any) -> int | None:
    """Just before COMMIT: store the response (with a key) or read the transaction id (for a
    ts); report it to ``before_commit``. Returns the id (None: not asked for, or no writes)."""
    receipt = options.receipt
    if receipt is None:
        return None
    xid: int | None
    if receipt.idempotency_key is not None:
        response = {"value": encoded, "logLines": current_lines()}
        xid = store_response(using, receipt.idempotency_key, response)
    else:
        xid = transaction_id(using)
    if receipt.before_commit is not None:
        receipt.before_commit(xid)
    return xid


def stamp(outcome: Outcome, options: CallOptions) -> None:
    """After COMMIT returned (or the stored response of an earlier commit was read): the label
    of the first snapshot that sees the transaction, or a later one."""
    if options.receipt is not None:
        outcome.ts = clock.timeline.stamp(outcome.xid)


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
