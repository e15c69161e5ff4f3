"""The chat app's backend functions, at `chat:<name>` (e.g. `chat:send`).

Both validator spellings appear: type hints (``def send(ctx, channel: v.id("channels"), body:
str)``) and Convex's ``args={...}`` with `v`. Identities come from the Django session: an
identity's ``subject`` is the user's primary key as a string.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from reactive import (
    ConvexError,
    action,
    api,
    internal,
    internal_mutation,
    mutation,
    query,
    v,
)

from .models import MAX_BODY

CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# "/later 30 stand-up!" posts "stand-up!" 30 seconds from now, through the scheduler.
LATER = re.compile(r"^/later\s+(\d{1,5})\s+(\S.*)$", re.S)
MAX_LIMIT = 200

# Convex's `paginationOptsValidator`: what `usePaginatedQuery` and friends send.
pagination_opts = v.object({
    "numItems": v.number(),
    "cursor": v.nullable(v.string()),
    "endCursor": v.optional(v.nullable(v.string())),
    "id": v.optional(v.number()),
    "maximumRowsRead": v.optional(v.number()),
    "maximumBytesRead": v.optional(v.number()),
})


# --- helpers (plain Python, not functions) --------------------------------------------------

def _profile(ctx: Any, user_pk: int) -> dict[str, Any] | None:
    return ctx.db.query("users").with_index("by_user", lambda q: q.eq("user", user_pk)).unique()


def _with_authors(ctx: Any, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each message plus `authorName`, looking each distinct author up once."""
    names: dict[int, str] = {}
    for m in messages:
        if m["author"] not in names:
            profile = _profile(ctx, m["author"])
            names[m["author"]] = profile["display_name"] if profile else f"user {m['author']}"
    return [{**m, "authorName": names[m["author"]]} for m in messages]


def _require_user(ctx: Any) -> int:
    identity = ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError({"code": "NOT_LOGGED_IN", "message": "Log in to do that"})
    return int(identity.subject)


# --- queries --------------------------------------------------------------------------------

@query
def list_channels(ctx) -> list[dict[str, Any]]:
    """Every channel, by name."""
    return sorted(ctx.db.query("channels").collect(), key=lambda c: c["name"])


@query
def list_messages(ctx, channel: v.id("channels"), limit: int = 50) -> list[dict[str, Any]]:
    """The channel's latest `limit` messages, oldest first, each with its author's name."""
    limit = max(1, min(limit, MAX_LIMIT))
    latest = (ctx.db.query("messages")
              .with_index("by_channel", lambda q: q.eq("channel", channel))
              .order("desc")
              .take(limit))
    return _with_authors(ctx, latest[::-1])


@query(args={"channel": v.id("channels"), "paginationOpts": pagination_opts})
def paginated_messages(ctx, channel: str, paginationOpts: dict[str, Any]) -> dict[str, Any]:
    """Newest first, a page at a time (for Convex's `usePaginatedQuery`)."""
    result = (ctx.db.query("messages")
              .with_index("by_channel", lambda q: q.eq("channel", channel))
              .order("desc")
              .paginate(paginationOpts))
    return {**result, "page": _with_authors(ctx, result["page"])}


# --- mutations ------------------------------------------------------------------------------

@mutation(args={"name": v.string()}, returns=v.id("channels"))
def create_channel(ctx, name: str) -> str:
    """Create a channel; anyone may (a logged-in creator is recorded)."""
    name = name.strip().lower()
    if not CHANNEL_NAME.match(name):
        raise ConvexError({"code": "BAD_NAME", "message": "1-32 of a-z, 0-9, '-' and '_'"})
    taken = ctx.db.query("channels").with_index("by_name", lambda q: q.eq("name", name)).first()
    if taken is not None:
        raise ConvexError({"code": "CHANNEL_EXISTS", "channel": taken["_id"]})
    identity = ctx.auth.get_user_identity()
    return ctx.db.insert("channels", {
        "name": name,
        "created_by": int(identity.subject) if identity else None,
    })


@mutation
def send(ctx, channel: v.id("channels"), body: str) -> str:
    """Post a message as the logged-in user; returns its id."""
    user_pk = _require_user(ctx)
    body = body.strip()
    if not body:
        raise ConvexError({"code": "EMPTY_MESSAGE"})
    if len(body) > MAX_BODY:
        raise ConvexError({"code": "MESSAGE_TOO_LONG", "max": MAX_BODY})
    if ctx.db.get("channels", channel) is None:
        raise ConvexError({"code": "NO_CHANNEL"})
    if _profile(ctx, user_pk) is None:  # e.g. a user made with createsuperuser
        identity = ctx.auth.get_user_identity()
        name = identity.claims.get("preferredUsername") or identity.name or f"user {user_pk}"
        ctx.db.insert("users", {"user": user_pk, "display_name": name[:64]})
    later = LATER.match(body)
    if later:
        # Scheduled in this transaction: if anything above had failed, nothing would be.
        return ctx.scheduler.run_after(int(later[1]) * 1000, internal.chat.deliver,
                                       {"channel": channel, "author": user_pk,
                                        "body": later[2].strip()})
    return ctx.db.insert("messages", {"channel": channel, "author": user_pk, "body": body})


@internal_mutation
def deliver(ctx, channel: v.id("channels"), author: int, body: str) -> str | None:
    """Post a message scheduled with "/later" (if its channel still exists)."""
    if ctx.db.get("channels", channel) is None:
        return None
    return ctx.db.insert("messages", {"channel": channel, "author": author, "body": body})


@internal_mutation(args={"channel": v.id("channels")})
def purge_channel(ctx, channel: str) -> int:
    """Delete every message of a channel (server-side callers only); returns how many."""
    messages = (ctx.db.query("messages")
                .with_index("by_channel", lambda q: q.eq("channel", channel))
                .collect())
    for m in messages:
        ctx.db.delete("messages", m["_id"])
    return len(messages)


# --- actions --------------------------------------------------------------------------------

@action
def summarize(ctx, channel: v.id("channels")) -> dict[str, Any]:
    """A summary of the channel's recent messages: who talks most, and the common words."""
    messages = ctx.run_query(api.chat.list_messages, {"channel": channel, "limit": MAX_LIMIT})
    authors = Counter(m["authorName"] for m in messages)
    words = Counter(w for m in messages for w in re.findall(r"[a-z']{4,}", m["body"].lower()))
    return {
        "messages": len(messages),
        "authors": [{"name": n, "messages": c} for n, c in authors.most_common()],
        "topWords": [w for w, _ in words.most_common(5)],
        "latest": messages[-1]["body"] if messages else None,
    }
