"""Checked by mypy in tests/typing/test_types.py, never imported: what a type checker sees."""

from __future__ import annotations

from typing import reveal_type

import reactive
from reactive import ActionCtx, MutationCtx, QueryCtx, action, internal_query, mutation, query, v


@query
def list_messages(ctx: QueryCtx, channel: str, limit: int = 50) -> list[str]:
    return []


@mutation(args={"body": v.string()}, isolation="select_for_update")
def send(ctx: MutationCtx, body: str) -> str:
    return body


@action(name="fetch")
async def fetch(ctx: ActionCtx, url: str) -> int:
    return len(url)


@internal_query()
def count(ctx: QueryCtx) -> int:
    return 0


reveal_type(reactive.query)
reveal_type(list_messages)
reveal_type(send)
reveal_type(fetch)
reveal_type(count)
reveal_type(list_messages.handler)
list_messages(1)  # a direct call keeps the handler's parameters (and always raises)
