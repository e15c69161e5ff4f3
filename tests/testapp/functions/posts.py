"""Functions at `testapp/posts:<name>`: posts and comments, whose triggers
(tests/testapp/triggers.py) keep `posts.comment_count` and the `audit` table."""

from __future__ import annotations

from typing import Any

from reactive import ConvexError, internal_mutation, mutation, query, v


@mutation
def create_post(ctx, title: str) -> str:
    return ctx.db.insert("posts", {"title": title})


@mutation
def rename_post(ctx, post: v.id("posts"), title: str) -> None:
    ctx.db.patch(post, {"title": title})  # the id-only form: the table comes from the id


@mutation
def add_comment(ctx, post: v.id("posts"), body: str) -> str:
    return ctx.db.insert("comments", {"post": post, "body": body})


@internal_mutation
def add_comment_internal(ctx, post: v.id("posts"), body: str) -> str:
    return ctx.db.insert("comments", {"post": post, "body": body})


@mutation
def add_comments(ctx, post: v.id("posts"), bodies: list[str]) -> list[str]:
    return [ctx.db.insert("comments", {"post": post, "body": b}) for b in bodies]


@mutation
def add_comment_catching(ctx, post: v.id("posts"), body: str) -> dict[str, Any]:
    """Insert a comment a trigger refuses, catch the error, then insert ``body``."""
    try:
        ctx.db.insert("comments", {"post": post, "body": "boom"})
    except ConvexError as exc:
        caught = exc.data
    else:
        caught = None
    return {"caught": caught, "id": ctx.db.insert("comments", {"post": post, "body": body})}


@mutation
def move_comment(ctx, comment: v.id("comments"), post: v.id("posts")) -> None:
    ctx.db.patch("comments", comment, {"post": post})


@mutation
def replace_comment(ctx, comment: v.id("comments"), post: v.id("posts"), body: str) -> None:
    ctx.db.replace(comment, {"post": post, "body": body})


@mutation
def delete_comment(ctx, comment: v.id("comments")) -> None:
    ctx.db.delete(comment)


@mutation
def delete_post(ctx, post: v.id("posts")) -> None:
    ctx.db.delete("posts", post)  # Django's on_delete cascade removes its comments


@query
def get_post(ctx, post: v.id("posts")) -> Any:
    return ctx.db.get("posts", post)


@query
def comments(ctx, post: v.id("posts")) -> list[str]:
    rows = ctx.db.query("comments").with_index("comments_by_post", lambda q: q.eq("post", post))
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
