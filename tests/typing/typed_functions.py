"""Checked by mypy in tests/typing/test_types.py, never imported: what a type checker sees."""

from __future__ import annotations

from typing import reveal_type

import reactive
from reactive import (
    ActionCtx,
    Customization,
    MutationCtx,
    QueryCtx,
    action,
    custom_ctx,
    custom_mutation,
    custom_query,
    internal_query,
    mutation,
    query,
    v,
)


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


class UserCtx(QueryCtx):
    """What a handler of `user_query` receives: a QueryCtx with ``user`` added."""

    user: str


user_query = custom_query(query, custom_ctx(lambda ctx: {"user": "ann"}))
session_mutation = custom_mutation(
    mutation, Customization(args={"session": v.string()}, input=lambda ctx, args: None)
)


@user_query
def mine(ctx: UserCtx, limit: int = 10) -> list[str]:
    return [ctx.user]


@session_mutation(args={"n": v.number()}, isolation="select_for_update", role="admin")
def bump(ctx: MutationCtx, n: float) -> float:
    return n


reveal_type(user_query)
reveal_type(mine)
reveal_type(bump)


# Direct calls are checked against the handler's parameters; each always raises (NoReturn), so
# each is alone in its function (code after a NoReturn call is unreachable, and left unchecked).
def _call_plain() -> None:
    list_messages(1)


def _call_custom() -> None:
    mine(1)
