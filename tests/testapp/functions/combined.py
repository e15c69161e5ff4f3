"""Functions at `testapp/combined:<name>`: custom builders, rules and triggers together
(tests/integration/test_combined_wrappers.py)."""

from __future__ import annotations

from typing import Any

from reactive import custom_ctx, custom_mutation, custom_query, internal_mutation, internal_query
from reactive.rules import rules, wrap_db

#: Internal functions are trusted and read the plain ctx.db; these opt into the project's rules.
ruled_internal_query = custom_query(
    internal_query, custom_ctx(lambda ctx: {"db": wrap_db(ctx, ctx.db, rules)})
)
ruled_internal_mutation = custom_mutation(
    internal_mutation, custom_ctx(lambda ctx: {"db": wrap_db(ctx, ctx.db, rules)})
)


@ruled_internal_query
def posts(ctx) -> list[str]:
    return [d["title"] for d in ctx.db.query("posts").collect()]


@internal_query
def posts_unruled(ctx) -> list[str]:
    return [d["title"] for d in ctx.db.query("posts").collect()]


@ruled_internal_mutation
def write_diary_for(ctx, owner: str, body: str) -> Any:
    return ctx.db.insert("diaries", {"owner": owner, "body": body})
