"""Functions at `testapp/vectors:<name>`, for tests/integration/test_vector_*.py and the
official clients' test: vector search over `movies` (rules hide other owners' drafts) and
`points` (l2, inner product and cosine indexes)."""

from __future__ import annotations

from typing import Any

from reactive import action, internal_action, internal_query, mutation, query, v


def _filter(pairs: list[list[Any]] | None) -> Any:
    """``[["genre", "a"], ["owner", "x"]]`` → ``lambda q: q.or_(q.eq(...), q.eq(...))``."""
    if pairs is None:
        return None
    return lambda q: q.or_(*[q.eq(field, value) for field, value in pairs])


@mutation
def add_movie(
    ctx,
    title: str,
    genre: str,
    embedding: v.optional(v.array(v.float64())) = None,
    owner: str = "",
    draft: bool = False,
    year: int = 2000,
) -> str:
    doc = {"title": title, "genre": genre, "owner": owner, "draft": draft, "year": year}
    return ctx.db.insert("movies", {**doc, "embedding": embedding})


@mutation
def patch_movie(ctx, id: v.id("movies"), fields: dict[str, Any]) -> None:
    ctx.db.patch(id, fields)


@mutation
def delete_movie(ctx, id: v.id("movies")) -> None:
    ctx.db.delete(id)


@query
def get_movie(ctx, id: v.id("movies")) -> Any:
    return ctx.db.get(id)


@query
def search_movies(
    ctx,
    vector: v.any(),
    limit: v.any() = 10,
    where: v.optional(v.array(v.array(v.any()))) = None,
    index: str = "by_embedding",
    table: str = "movies",
) -> list[dict[str, Any]]:
    """Arguments are loose on purpose: the search itself must refuse bad ones."""
    return ctx.vector_search(table, index, vector=vector, limit=limit, filter=_filter(where))


@internal_query
def search_movies_internal(
    ctx, vector: list[float], limit: int = 10, genre: str | None = None
) -> list[dict[str, Any]]:
    """No rules (internal): the search alone, for bench/vectors.py."""
    where = None if genre is None else (lambda q: q.eq("genre", genre))
    return ctx.vector_search("movies", "by_embedding", vector=vector, limit=limit, filter=where)


@query
def search_titles(
    ctx, vector: list[float], limit: int = 10, where: v.optional(v.array(v.array(v.any()))) = None
) -> list[str]:
    """The titles of the results, best first (what a live subscriber watches)."""
    found = ctx.vector_search(
        "movies", "by_embedding", vector=vector, limit=limit, filter=_filter(where)
    )
    return [ctx.db.get(hit["_id"])["title"] for hit in found]


@query
def search_with_filter(ctx, vector: list[float], kind: str) -> Any:
    """Filters that are not q.eq / q.or_ (each must be refused, naming the mistake)."""
    filters = {
        "gt": lambda q: q.gt("genre", "a"),
        "not_a_clause": lambda q: ("genre", "a"),
        "empty_or": lambda q: q.or_(),
        "not_callable": "genre",
    }
    return ctx.vector_search("movies", "by_embedding", vector=vector, filter=filters[kind])


@action
def similar_movies(
    ctx, vector: list[float], limit: int = 10, where: v.optional(v.array(v.array(v.any()))) = None
) -> list[dict[str, Any]]:
    """Convex's pattern: vector search in an action, then the documents through a query."""
    return ctx.vector_search(
        "movies", "by_embedding", vector=vector, limit=limit, filter=_filter(where)
    )


@action
async def similar_movies_async(ctx, vector: list[float], limit: int = 10) -> list[dict[str, Any]]:
    return await ctx.avector_search("movies", "by_embedding", vector=vector, limit=limit)


@internal_action
def similar_movies_internal(ctx, vector: list[float], limit: int = 10) -> list[dict[str, Any]]:
    return ctx.vector_search("movies", "by_embedding", vector=vector, limit=limit)


@action
def search_anything(ctx, vector: v.any(), limit: v.any() = 10, index: str = "by_embedding") -> Any:
    return ctx.vector_search("movies", index, vector=vector, limit=limit)


@mutation
def add_point(ctx, vec: list[float], tag: str = "") -> str:
    return ctx.db.insert("points", {"vec": vec, "tag": tag})


@query
def search_points(
    ctx, index: str, vector: list[float], limit: int = 10, tag: str | None = None
) -> list[dict[str, Any]]:
    where = None if tag is None else (lambda q: q.eq("tag", tag))
    return ctx.vector_search("points", index, vector=vector, limit=limit, filter=where)
