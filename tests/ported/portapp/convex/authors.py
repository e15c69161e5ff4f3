"""convex/authors.ts."""

from __future__ import annotations

from typing import Any

from reactive import MutationCtx, query, v


def author_id(ctx: MutationCtx, name: str) -> str:
    """The author of that name, added if there is none: `send` and `typing.start` take names."""
    found = ctx.db.query("authors").with_index("by_name", lambda q: q.eq("name", name)).unique()
    return found._id if found else ctx.db.insert("authors", {"name": name})


@query(args={"name": v.string()})
def get(ctx: Any, name: str) -> Any:
    return ctx.db.query("authors").with_index("by_name", lambda q: q.eq("name", name)).unique()
