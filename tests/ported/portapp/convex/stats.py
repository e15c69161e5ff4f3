"""convex/stats.ts: its default export is api.stats.default."""

from __future__ import annotations

from reactive import query


# No `args` and no annotated parameter: it takes any arguments, as Convex's does.
@query
def default(ctx):
    messages = ctx.db.query("messages").collect()
    return {"messages": len(messages), "likes": sum(m.likes for m in messages)}
