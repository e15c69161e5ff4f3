"""Functions at `testapp/search:<name>`, for tests/integration/test_search*.py and
tests/interop/: full-text search over `articles` (no rules) and `memos` (a Q read rule)."""

from __future__ import annotations

from typing import Any

from reactive import mutation, query, v

Eqs = v.optional(v.array(v.array(v.any())))


def _search(ctx: Any, index: str, field: str, text: str, eqs: list[list[Any]] | None) -> Any:
    def build(q: Any) -> Any:
        q = q.search(field, text)
        for name, value in eqs or ():
            q = q.eq(name, value)
        return q

    return ctx.db.query("articles").with_search_index(index, build)


@query
def find(
    ctx,
    text: str,
    eqs: Eqs = None,
    index: str = "search_body",
    field: str = "body",
    how: str = "take",
    limit: float = 10,
    min_score: v.optional(v.number()) = None,
) -> Any:
    """A search ended by ``how``: take (``limit``), collect, first, unique, iterate."""
    q = _search(ctx, index, field, text, eqs)
    if min_score is not None:
        q = q.filter(lambda f: f.gte(f.field("score"), min_score))
    if how == "take":
        return q.take(int(limit))
    if how == "collect":
        return q.collect()
    if how == "first":
        return q.first()
    if how == "unique":
        return q.unique()
    if how == "iterate":
        return [doc for doc in q]
    if how == "order":
        return q.order("asc").take(1)
    raise ValueError(how)


@query
def bodies(ctx, text: str, channel: v.optional(v.string()) = None, limit: float = 10) -> Any:
    """The bodies a search returns, in order (what a subscriber compares)."""
    eqs = [["channel", channel]] if channel is not None else None
    return [d["body"] for d in _search(ctx, "search_body", "body", text, eqs).take(int(limit))]


@query
def page(ctx, text: str, paginationOpts: v.any(), eqs: Eqs = None) -> Any:  # noqa: N803
    return _search(ctx, "search_body", "body", text, eqs).paginate(paginationOpts)


@mutation
def add(ctx, body: str, channel: str = "general", author: str = "", score: float = 0) -> str:
    return ctx.db.insert(
        "articles", {"body": body, "channel": channel, "author": author, "score": int(score)}
    )


@mutation
def add_many(ctx, bodies: list[str], channel: str = "general") -> list[str]:
    return [ctx.db.insert("articles", {"body": b, "channel": channel}) for b in bodies]


@mutation
def patch(ctx, id: str, fields: dict[str, Any]) -> None:
    ctx.db.patch("articles", id, fields)


@mutation
def remove(ctx, id: str) -> None:
    ctx.db.delete("articles", id)


# --- memos: a Q read rule (tests/testapp/rules.py) --------------------------------------------


@query
def memos(ctx, text: str, paginationOpts: v.optional(v.any()) = None) -> Any:  # noqa: N803
    q = ctx.db.query("memos").with_search_index("search_body", lambda q: q.search("body", text))
    return q.paginate(paginationOpts) if paginationOpts is not None else q.collect()


@mutation
def add_memo(ctx, body: str, owner: str, public: bool = False) -> str:
    return ctx.db.insert("memos", {"body": body, "owner": owner, "public": public})
