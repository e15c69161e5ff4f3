"""Trigger handlers of the test app (autodiscovered at start-up, like a functions module).

- ``comments`` keeps ``posts.comment_count`` (a denormalised count) and refuses a comment whose
  body is "boom" (a handler that raises);
- ``posts`` writes an ``audit`` row per change, so a comment cascades two levels deep;
- ``links`` inserts link n+1 after link n while n < stop: a cascade as deep as the data asks.
"""

from __future__ import annotations

from typing import Any

from reactive import ConvexError
from reactive.triggers import Change, TriggerCtx, register, trigger


@trigger("comments")
def count_comments(ctx: TriggerCtx, change: Change) -> None:
    old_post = change.old_doc["post"] if change.old_doc else None
    new_post = change.new_doc["post"] if change.new_doc else None
    if old_post == new_post:
        return
    for post, delta in ((old_post, -1), (new_post, 1)):
        if post is not None:
            doc = ctx.db.get("posts", post)
            assert doc is not None
            ctx.db.patch("posts", post, {"comment_count": doc["comment_count"] + delta})


def refuse_boom(ctx: TriggerCtx, change: Change) -> None:
    if change.new_doc is not None and change.new_doc["body"] == "boom":
        raise ConvexError({"code": "BOOM", "comment": change.id})


register("comments", refuse_boom)


@trigger("posts")
def audit_posts(ctx: TriggerCtx, change: Change) -> None:
    ctx.db.insert("audit", {"subject": "posts", "operation": change.operation, "doc": change.id})


@trigger("links")
def next_link(ctx: TriggerCtx, change: Change) -> None:
    doc: Any = change.new_doc
    if change.operation == "insert" and doc["n"] < doc["stop"]:
        ctx.db.insert("links", {"n": doc["n"] + 1, "stop": doc["stop"]})
