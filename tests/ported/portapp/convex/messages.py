"""convex/messages.ts."""

from __future__ import annotations

from typing import Any

from reactive import ConvexError, internal, internal_mutation, mutation, query, v

from .authors import author_id

MAX_BODY = 200


@query(args={"channel": v.string(), "paginationOpts": v.pagination_opts()})
def list_(ctx: Any, channel: str, paginationOpts: dict[str, Any]) -> Any:
    """Newest first, a page at a time (usePaginatedQuery), each with its author's name."""
    results = (
        ctx.db.query("messages")
        .with_index("by_channel", lambda q: q.eq("channel", channel))
        .order("desc")
        .paginate(paginationOpts)
    )
    page = []
    for message in results["page"]:
        author = ctx.db.get("authors", message.author)
        page.append({**message, "authorName": author.name if author else "?"})
    return {**results, "page": page}


@mutation(args={"channel": v.string(), "author": v.string(), "body": v.string()})
def send(ctx: Any, channel: str, author: str, body: str) -> str:
    if len(body) > MAX_BODY:
        raise ConvexError({"code": "TOO_LONG", "max": MAX_BODY, "length": len(body)})
    message = ctx.db.insert(
        "messages",
        {"channel": channel, "author": author_id(ctx, author), "body": body, "likes": 0},
    )
    if body.startswith("/remind "):
        # the bot answers a second later, in a transaction of its own
        text = body.removeprefix("/remind ")
        ctx.scheduler.run_after(1000, internal.messages.remind, {"channel": channel, "text": text})
    return message


@internal_mutation(args={"channel": v.string(), "text": v.string()})
def remind(ctx: Any, channel: str, text: str) -> None:
    body = f"Reminder: {text}"
    author = author_id(ctx, "bot")
    ctx.db.insert("messages", {"channel": channel, "author": author, "body": body, "likes": 0})


# No `args`: the arguments are not validated.
@mutation
def like(ctx, id):
    message = ctx.db.get("messages", id)
    if message is None:
        raise ConvexError("no such message")
    ctx.db.patch("messages", id, {"likes": message.likes + 1})


# Python names are snake_case; name= keeps Convex's path, messages:byAuthor.
@query(name="byAuthor", args={"channel": v.string(), "author": v.id("authors")})
def by_author(ctx: Any, channel: str, author: str) -> Any:
    """An author's messages in a channel, most liked first."""
    # 31 characters: models.py's @table(index_names=...) keeps this name for a shorter Django one
    index = "by_channel_and_author_and_likes"
    return (
        ctx.db.query("messages")
        .with_index(index, lambda q: q.eq("channel", channel).eq("author", author))
        .order("desc")
        .collect()
    )
