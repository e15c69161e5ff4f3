"""Run an ad-hoc function body as a query or mutation through the real executor."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from reactive import internal_mutation, internal_query
from reactive.functions.executor import execute
from reactive.functions.outcome import Outcome
from reactive.functions.registry import registry

_counter = itertools.count()


def _run(decorator: Any, body: Callable[[Any], Any], **options: Any) -> Outcome:
    path = f"adhoc:f{next(_counter)}"

    def handler(ctx: Any) -> Any:
        return body(ctx)

    decorator(path=path, **options)(handler)
    try:
        return execute(path, {})
    finally:
        registry.unregister(path)


def in_query(body: Callable[[Any], Any]) -> Outcome:
    return _run(internal_query, body)


def in_mutation(body: Callable[[Any], Any], **options: Any) -> Outcome:
    return _run(internal_mutation, body, **options)


async def orm(fn: Callable[..., Any], *args: Any) -> Any:
    """Write with the ORM directly (writes from outside the executor), in a thread whose
    connection is closed afterwards."""
    import asyncio

    from django.db import connections

    def run() -> Any:
        try:
            return fn(*args)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def hold_transaction(stack: Any, params: dict[str, Any], where: str) -> Any:
    """Open a transaction that holds a transaction id until ``stack`` closes: in another
    database of the same server (``where="another_database"``) or writing an unrelated table of
    this one (``"same_database"``). ``params`` are psycopg connection parameters."""
    import psycopg

    if where == "another_database":
        params = {**params, "dbname": "postgres"}
    else:
        setup = stack.enter_context(psycopg.connect(autocommit=True, **params))
        setup.execute("CREATE TABLE IF NOT EXISTS unrelated_batch (x int)")
    blocker = stack.enter_context(psycopg.connect(autocommit=False, **params))
    if where == "same_database":
        blocker.execute("INSERT INTO unrelated_batch VALUES (1)")
    blocker.execute("SELECT pg_current_xact_id()")
    return blocker
