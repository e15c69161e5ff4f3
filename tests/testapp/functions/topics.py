"""Functions at `testapp/topics:<name>`: topics and replies, whose triggers
(tests/testapp/triggers.py) keep `topics.reply_count` and the `audit` table."""

from __future__ import annotations

from typing import Any

from reactive import ConvexError, internal_mutation, mutation, query, v


@mutation
def create_topic(ctx, title: str) -> str:
    return ctx.db.insert("topics", {"title": title})


@mutation
def rename_topic(ctx, topic: v.id("topics"), title: str) -> None:
    ctx.db.patch(topic, {"title": title})  # the id-only form: the table comes from the id


@mutation
def add_reply(ctx, topic: v.id("topics"), body: str) -> str:
    return ctx.db.insert("replies", {"topic": topic, "body": body})


@internal_mutation
def add_reply_internal(ctx, topic: v.id("topics"), body: str) -> str:
    return ctx.db.insert("replies", {"topic": topic, "body": body})


@mutation
def add_replies(ctx, topic: v.id("topics"), bodies: list[str]) -> list[str]:
    return [ctx.db.insert("replies", {"topic": topic, "body": b}) for b in bodies]


@mutation
def add_reply_catching(ctx, topic: v.id("topics"), body: str) -> dict[str, Any]:
    """Insert a reply a trigger refuses, catch the error, then insert ``body``."""
    try:
        ctx.db.insert("replies", {"topic": topic, "body": "boom"})
    except ConvexError as exc:
        caught = exc.data
    else:
        caught = None
    return {"caught": caught, "id": ctx.db.insert("replies", {"topic": topic, "body": body})}


@mutation
def move_reply(ctx, reply: v.id("replies"), topic: v.id("topics")) -> None:
    ctx.db.patch("replies", reply, {"topic": topic})


@mutation
def replace_reply(ctx, reply: v.id("replies"), topic: v.id("topics"), body: str) -> None:
    ctx.db.replace(reply, {"topic": topic, "body": body})


@mutation
def delete_reply(ctx, reply: v.id("replies")) -> None:
    ctx.db.delete(reply)


@mutation
def delete_topic(ctx, topic: v.id("topics")) -> None:
    ctx.db.delete("topics", topic)  # Django's on_delete cascade removes its replies


@query
def get_topic(ctx, topic: v.id("topics")) -> Any:
    return ctx.db.get("topics", topic)


@query
def replies(ctx, topic: v.id("topics")) -> list[str]:
    rows = ctx.db.query("replies").with_index("replies_by_topic", lambda q: q.eq("topic", topic))
    return [c["body"] for c in rows.collect()]


@query
def audit(ctx, doc: str) -> list[str]:
    rows = ctx.db.query("audit").with_index("audit_by_doc", lambda q: q.eq("doc", doc))
    return [f"{r['subject']} {r['operation']}" for r in rows.collect()]


@mutation
def start_links(ctx, stop: int) -> None:
    ctx.db.insert("links", {"n": 1, "stop": stop})


@query
def links(ctx) -> list[int]:
    return sorted(r["n"] for r in ctx.db.query("links").collect())
