"""Trigger handlers of the test app (autodiscovered at start-up, like a functions module).

- ``replies`` keeps ``topics.reply_count`` (a denormalised count) and refuses a reply whose
  body is "boom" (a handler that raises);
- ``topics`` writes an ``audit`` row per change, so a reply cascades two levels deep;
- ``links`` inserts link n+1 after link n while n < stop: a cascade as deep as the data asks.
"""

from __future__ import annotations

from typing import Any

from reactive import ConvexError
from reactive.triggers import Change, TriggerCtx, register, trigger


@trigger("replies")
def count_replies(ctx: TriggerCtx, change: Change) -> None:
    old_topic = change.old_doc["topic"] if change.old_doc else None
    new_topic = change.new_doc["topic"] if change.new_doc else None
    if old_topic == new_topic:
        return
    for topic, delta in ((old_topic, -1), (new_topic, 1)):
        if topic is not None:
            doc = ctx.db.get("topics", topic)
            assert doc is not None
            ctx.db.patch("topics", topic, {"reply_count": doc["reply_count"] + delta})


def refuse_boom(ctx: TriggerCtx, change: Change) -> None:
    if change.new_doc is not None and change.new_doc["body"] == "boom":
        raise ConvexError({"code": "BOOM", "reply": change.id})


register("replies", refuse_boom)


@trigger("topics")
def audit_topics(ctx: TriggerCtx, change: Change) -> None:
    ctx.db.insert("audit", {"subject": "topics", "operation": change.operation, "doc": change.id})


@trigger("links")
def next_link(ctx: TriggerCtx, change: Change) -> None:
    doc: Any = change.new_doc
    if change.operation == "insert" and doc["n"] < doc["stop"]:
        ctx.db.insert("links", {"n": doc["n"] + 1, "stop": doc["stop"]})
