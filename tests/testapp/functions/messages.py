"""Functions at `testapp/messages:<name>`."""

from __future__ import annotations

from typing import Any

from reactive import mutation, query, v


@mutation
def send(ctx, channel: v.id("channels"), body: str, author: str = "anon", score: int = 0) -> str:
    if ctx.db.get("channels", channel) is None:
        from reactive import ConvexError

        raise ConvexError({"code": "NO_CHANNEL"})
    return ctx.db.insert(
        "messages", {"channel": channel, "body": body, "author": author, "score": score}
    )


@query
def list(ctx, channel: v.id("channels")) -> Any:
    return (
        ctx.db.query("messages")
        .with_index("by_channel", lambda q: q.eq("channel", channel))
        .collect()
    )


@query
def latest(ctx) -> Any:
    rows = ctx.db.query("messages").order("desc").take(10)
    return [{"body": m["body"], "author": m["author"]} for m in rows]


@query
def page(ctx, channel: v.id("channels"), paginationOpts: dict[str, Any]) -> Any:
    return (
        ctx.db.query("messages")
        .with_index("by_channel", lambda q: q.eq("channel", channel))
        .paginate(paginationOpts)
    )


@query
def page_by_score(ctx, author: str, paginationOpts: dict[str, Any]) -> Any:
    return (
        ctx.db.query("messages")
        .with_index("by_author_score", lambda q: q.eq("author", author))
        .paginate(paginationOpts)
    )
