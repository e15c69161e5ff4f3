"""The chat app's backend functions, at `chat:<name>` (e.g. `chat:send`).

Both validator spellings appear: type hints (``def send(ctx, channel: v.id("channels"), body:
str)``) and Convex's ``args={...}`` with `v`. Identities come from the Django session or from
the token the page buys with it (/api/auth/token): an identity's ``subject`` is the user's primary
key as a string. Reading is open to everyone; writing needs a login, checked here, on the server.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from reactive import (
    ConvexError,
    action,
    api,
    internal,
    internal_action,
    internal_mutation,
    mutation,
    query,
    v,
)
from reactive.ratelimit import MINUTE, RateLimiter, token_bucket

from .models import MAX_BODY

CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# "/later 30 stand-up!" posts "stand-up!" 30 seconds from now, through the scheduler.
LATER = re.compile(r"^/later\s+(\d{1,5})\s+(\S.*)$", re.S | re.I)
# Anything else starting with "/later" is a mistyped command, refused rather than posted as text.
LATER_WORD = re.compile(r"^/later(\s|$)", re.I)
BAD_LATER = {"code": "BAD_LATER", "message": "Use /later N text: N seconds (0 to 99999), no file"}
# "@bot ..." gets an answer from chat:bot_reply, an action the scheduler runs right after commit.
BOT = re.compile(r"^@bot\b\s*(.*)$", re.S | re.I)
BOT_NAME = "bot"
MAX_LIMIT = 200
MAX_UNREAD = 99  # counted up to this; the page shows "99+" beyond
# Each "@bot" question runs an action (and "@bot summary" reads 200 messages): per user, 5 in a
# row, then one every 6 s. Spent in chat:send's transaction, so a refused message costs nothing.
limiter = RateLimiter({"bot": token_bucket(rate=10, period=MINUTE, capacity=5)})

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


def _for_page(ctx: Any, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each message plus `authorName` (each distinct author looked up once) and, when it has
    an attachment, `attachmentUrl` and `attachmentType`."""
    names: dict[int | None, str] = {None: BOT_NAME}
    out = []
    for m in messages:
        if m["author"] not in names:
            profile = _profile(ctx, m["author"])
            names[m["author"]] = profile["display_name"] if profile else f"user {m['author']}"
        extra: dict[str, Any] = {"authorName": names[m["author"]]}
        if m.get("attachment"):
            meta = ctx.storage.get_metadata(m["attachment"])
            extra["attachmentUrl"] = ctx.storage.get_url(m["attachment"])
            extra["attachmentType"] = meta["contentType"] if meta else None
        out.append({**m, **extra})
    return out


def _identity_user(ctx: Any) -> int | None:
    identity = ctx.auth.get_user_identity()
    return None if identity is None else int(identity.subject)


def _require_user(ctx: Any) -> int:
    user_pk = _identity_user(ctx)
    if user_pk is None:
        raise ConvexError({"code": "NOT_LOGGED_IN", "message": "Log in to do that"})
    return user_pk


def _ensure_profile(ctx: Any, user_pk: int) -> None:
    if _profile(ctx, user_pk) is None:  # e.g. a user made with createsuperuser
        identity = ctx.auth.get_user_identity()
        name = identity.claims.get("preferredUsername") or identity.name or f"user {user_pk}"
        ctx.db.insert("users", {"user": user_pk, "display_name": name[:64]})


def _read_row(ctx: Any, user_pk: int, channel: str) -> dict[str, Any] | None:
    return (ctx.db.query("reads")
            .with_index("by_user_channel", lambda q: q.eq("user", user_pk).eq("channel", channel))
            .unique())


# --- queries --------------------------------------------------------------------------------

@query
def list_channels(ctx) -> list[dict[str, Any]]:
    """Every channel, by name."""
    return sorted(ctx.db.query("channels").collect(), key=lambda c: c["name"])


@query
def unread_counts(ctx) -> dict[str, int]:
    """For the logged-in user, per channel id: messages by others since they last read it (up
    to MAX_UNREAD + 1). Nobody logged in: {}."""
    user_pk = _identity_user(ctx)
    if user_pk is None:
        return {}
    counts = {}
    for channel in ctx.db.query("channels").collect():
        row = _read_row(ctx, user_pk, channel["_id"])
        since = row["last_read"] if row else 0.0
        unread = (ctx.db.query("messages")
                  .with_index("by_channel",
                              lambda q, c=channel["_id"], t=since: q.eq("channel", c)
                              .gt("_creationTime", t))
                  .filter(lambda q: q.neq(q.field("author"), user_pk))
                  .take(MAX_UNREAD + 1))
        if unread:
            counts[channel["_id"]] = len(unread)
    return counts


@query
def list_messages(ctx, channel: v.id("channels"), limit: int = 50) -> list[dict[str, Any]]:
    """The channel's latest `limit` messages, oldest first, each with its author's name."""
    limit = max(1, min(limit, MAX_LIMIT))
    latest = (ctx.db.query("messages")
              .with_index("by_channel", lambda q: q.eq("channel", channel))
              .order("desc")
              .take(limit))
    return _for_page(ctx, latest[::-1])


@query(args={"channel": v.id("channels"), "paginationOpts": pagination_opts})
def paginated_messages(ctx, channel: str, paginationOpts: dict[str, Any]) -> dict[str, Any]:
    """Newest first, a page at a time (Convex's `usePaginatedQuery`, or `ConvexClient`'s
    `onPaginatedUpdate_experimental` as the demo page uses)."""
    result = (ctx.db.query("messages")
              .with_index("by_channel", lambda q: q.eq("channel", channel))
              .order("desc")
              .paginate(paginationOpts))
    return {**result, "page": _for_page(ctx, result["page"])}


@query(args={"text": v.string()})
def search(ctx, text: str) -> list[dict[str, Any]]:
    """The 20 messages that best match `text` (full-text, every channel), with channel names."""
    if not text.strip():
        return []
    found = (ctx.db.query("messages")
             .with_search_index("search_body", lambda q: q.search("body", text))
             .take(20))
    names = {c["_id"]: c["name"] for c in ctx.db.query("channels").collect()}
    return [{**m, "channelName": names.get(m["channel"], "?")} for m in _for_page(ctx, found)]


@query
def pending_later(ctx, channel: v.id("channels")) -> list[dict[str, Any]]:
    """The logged-in user's "/later" messages for this channel that have not been posted yet,
    read live from the `_scheduled_functions` system table."""
    user_pk = _identity_user(ctx)
    if user_pk is None:
        return []
    rows = (ctx.db.system.query("_scheduled_functions")
            .with_index("reactive_sched_due", lambda q: q.eq("state.kind", "pending"))
            .filter(lambda q: q.eq(q.field("name"), "chat:deliver"))
            .collect())
    return [
        {"_id": row["_id"], "body": row["args"][0]["body"], "scheduledTime": row["scheduledTime"]}
        for row in rows
        if row["args"][0]["channel"] == channel and row["args"][0]["author"] == user_pk
    ]


# --- mutations ------------------------------------------------------------------------------

@mutation(args={"name": v.string()}, returns=v.id("channels"))
def create_channel(ctx, name: str) -> str:
    """Create a channel; only a logged-in user may."""
    user_pk = _require_user(ctx)
    name = name.strip().lower()
    if not CHANNEL_NAME.match(name):
        raise ConvexError({"code": "BAD_NAME", "message": "1-32 of a-z, 0-9, '-' and '_'"})
    taken = ctx.db.query("channels").with_index("by_name", lambda q: q.eq("name", name)).first()
    if taken is not None:
        raise ConvexError({"code": "CHANNEL_EXISTS", "channel": taken["_id"]})
    return ctx.db.insert("channels", {"name": name, "created_by": user_pk})


@mutation
def generate_upload_url(ctx) -> str:
    """A one-time URL the page POSTs a file to; the answer's `storageId` then goes to `send`."""
    _require_user(ctx)
    return ctx.storage.generate_upload_url()


@mutation(args={
    "channel": v.id("channels"),
    "body": v.string(),
    "attachment": v.optional(v.id("_storage")),
    "attachmentName": v.optional(v.string()),
})
def send(ctx, channel: str, body: str, attachment: str | None = None,
         attachmentName: str = "") -> dict[str, Any]:
    """Post a message as the logged-in user: `{"message": id}`, or for "/later N text"
    `{"scheduled": id, "scheduledTime": ms}`. "@bot ..." also schedules the bot's answer.
    Refused: any other "/later ..." (BAD_LATER), an "@bot" over the user's limit (SLOW_DOWN)."""
    user_pk = _require_user(ctx)
    body = body.strip()
    if not body and attachment is None:
        raise ConvexError({"code": "EMPTY_MESSAGE"})
    if len(body) > MAX_BODY:
        raise ConvexError({"code": "MESSAGE_TOO_LONG", "max": MAX_BODY})
    if ctx.db.get("channels", channel) is None:
        raise ConvexError({"code": "NO_CHANNEL"})
    _ensure_profile(ctx, user_pk)
    later = LATER.match(body)
    if LATER_WORD.match(body) and (later is None or attachment is not None):
        raise ConvexError(BAD_LATER)
    if later:
        # Scheduled in this transaction: if anything above had failed, nothing would be.
        delay_ms = int(later[1]) * 1000
        job = ctx.scheduler.run_after(delay_ms, internal.chat.deliver,
                                      {"channel": channel, "author": user_pk,
                                       "body": later[2].strip()})
        return {"scheduled": job, "scheduledTime": ctx.now + delay_ms}
    bot = BOT.match(body)
    if bot:
        allowed = limiter.limit(ctx, "bot", key=str(user_pk))
        if not allowed.ok:
            raise ConvexError({"code": "SLOW_DOWN", "retryAfter": allowed.retry_after})
    message = ctx.db.insert("messages", {
        "channel": channel, "author": user_pk, "body": body,
        "attachment": attachment, "attachment_name": attachmentName[:200],
    })
    if bot:
        ctx.scheduler.run_after(0, internal.chat.bot_reply,
                                {"channel": channel, "question": bot[1].strip()})
    return {"message": message}


@mutation(args={"id": v.id("_scheduled_functions")})
def cancel_later(ctx, id: str) -> None:
    """Cancel one of the logged-in user's own "/later" messages before it is posted."""
    user_pk = _require_user(ctx)
    row = ctx.db.system.get("_scheduled_functions", id)
    if row is None or row["name"] != "chat:deliver" or row["args"][0]["author"] != user_pk:
        raise ConvexError({"code": "NOT_YOURS", "message": "No such message of yours to cancel"})
    ctx.scheduler.cancel(id)


@mutation
def mark_read(ctx, channel: v.id("channels")) -> None:
    """The logged-in user has seen everything in the channel up to now (nobody: nothing)."""
    user_pk = _identity_user(ctx)
    if user_pk is None:
        return
    row = _read_row(ctx, user_pk, channel)
    if row is None:
        ctx.db.insert("reads", {"user": user_pk, "channel": channel, "last_read": ctx.now})
    else:
        ctx.db.patch("reads", row["_id"], {"last_read": ctx.now})


@internal_mutation
def deliver(ctx, channel: v.id("channels"), author: int, body: str) -> str | None:
    """Post a message scheduled with "/later" (if its channel still exists)."""
    if ctx.db.get("channels", channel) is None:
        return None
    return ctx.db.insert("messages", {"channel": channel, "author": author, "body": body})


@internal_mutation
def post_bot_message(ctx, channel: v.id("channels"), body: str) -> None:
    """A message by the bot (author None), from chat:bot_reply."""
    if ctx.db.get("channels", channel) is not None:
        ctx.db.insert("messages", {"channel": channel, "author": None, "body": body[:MAX_BODY]})


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


@internal_action
def bot_reply(ctx, channel: v.id("channels"), question: str) -> None:
    """The bot's answer to "@bot <question>", posted through chat:post_bot_message. An action
    (not a mutation) since a real bot would call a model or an API here, outside a transaction."""
    words = question.lower().split()
    if words[:1] == ["time"]:
        answer = time.strftime("It is %H:%M:%S UTC.", time.gmtime())
    elif words[:1] == ["summary"]:
        s = ctx.run_action(api.chat.summarize, {"channel": channel})
        answer = (f"{s['messages']} recent messages; common words: "
                  f"{', '.join(s['topWords']) or 'none'}.")
    elif question:
        answer = f"You said “{question[:200]}”. Try “@bot time” or “@bot summary”."
    else:
        answer = "Hello! Try “@bot time” or “@bot summary”."
    ctx.run_mutation(internal.chat.post_bot_message, {"channel": channel, "body": answer})
