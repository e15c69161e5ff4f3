"""convex/typing.ts (a module named like Python's `typing`: inside this package it is
tests.ported.portapp.convex.typing, and `from typing import ...` still finds the standard one)."""

from __future__ import annotations

from typing import Any

from reactive import mutation, query, v

from .authors import author_id

TYPING_MS = 3000


@mutation(args={"channel": v.string(), "author": v.string()})
def start(ctx: Any, channel: str, author: str) -> None:
    who = author_id(ctx, author)
    mine = (
        ctx.db.query("typing")
        .with_index("by_channel_and_until", lambda q: q.eq("channel", channel))
        .filter(lambda q: q.eq(q.field("author"), who))
        .first()
    )
    until = ctx.now + TYPING_MS  # Date.now()
    if mine:
        ctx.db.patch("typing", mine._id, {"until": until})
    else:
        ctx.db.insert("typing", {"channel": channel, "author": who, "until": until})


@query(args={"channel": v.string(), "now": v.number()})
def who(ctx: Any, channel: str, now: float) -> list[Any]:
    rows = (
        ctx.db.query("typing")
        .with_index("by_channel_and_until", lambda q: q.eq("channel", channel).gt("until", now))
        .collect()
    )
    names = []
    for row in rows:
        author = ctx.db.get("authors", row.author)
        names.append(author.name if author else None)
    return names
