"""Functions at `testapp/rules:<name>`, for tests/integration/test_rules*.py: every read path and
write over the tables with rules (tests/testapp/rules.py), and `wrap_db` used explicitly."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from reactive import internal_mutation, internal_query, mutation, query, v
from reactive.db.relationships import get_all, get_many_from, get_many_via
from reactive.rules import Rules, TableRules, wrap_db

# --- posts (Q read rule, hidden `salary`) -----------------------------------------------------


@mutation
def create_post(
    ctx,
    title: str,
    owner: str | None = None,
    team: v.optional(v.id("teams")) = None,
    public: bool = False,
    score: int = 0,
    salary: str = "",
) -> str:
    identity = ctx.auth.get_user_identity()
    doc = {
        "title": title,
        "owner": owner if owner is not None else (identity.subject if identity else ""),
        "team": team,
        "public": public,
        "score": score,
        "salary": salary,
    }
    return ctx.db.insert("posts", doc)


@mutation
def patch_post(ctx, id: str, fields: dict[str, Any]) -> None:
    ctx.db.patch("posts", id, fields)


@mutation
def patch_post_by_id(ctx, id: str, fields: dict[str, Any]) -> None:
    ctx.db.patch(id, fields)


@mutation
def replace_post(ctx, id: str, doc: dict[str, Any]) -> None:
    ctx.db.replace("posts", id, doc)


@mutation
def delete_post(ctx, id: str) -> None:
    ctx.db.delete("posts", id)


@mutation
def try_patch_post(ctx, id: str, fields: dict[str, Any]) -> str:
    """Catches the refusal and commits: what was refused must still be unwritten."""
    try:
        ctx.db.patch("posts", id, fields)
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__
    return "ok"


@query
def post(ctx, id: str) -> Any:
    return ctx.db.get("posts", id)


@query
def post_by_id(ctx, id: str) -> Any:
    return ctx.db.get(id)


@query
def post_view(ctx, id: str) -> Any:
    return ctx.db.table("posts").get(id)


@query
def posts(ctx, how: str = "collect", n: int = 3) -> Any:
    q = ctx.db.query("posts").with_index("posts_by_score")
    if how == "collect":
        return q.collect()
    if how == "take":
        return q.take(n)
    if how == "first":
        return q.first()
    if how == "iterate":
        return list(q)
    if how == "filter":
        return q.filter(lambda f: f.gte(f.field("score"), n)).collect()
    raise ValueError(how)


@query
def posts_of(ctx, owner: str) -> Any:
    return (
        ctx.db.query("posts").with_index("posts_by_owner", lambda q: q.eq("owner", owner)).unique()
    )


@query
def posts_page(ctx, paginationOpts: dict[str, Any]) -> Any:
    return ctx.db.query("posts").with_index("posts_by_score").paginate(paginationOpts)


@query
def posts_by_salary(ctx, salary: str) -> Any:
    return (
        ctx.db.query("posts")
        .with_index("posts_by_salary", lambda q: q.eq("salary", salary))
        .collect()
    )


@query
def posts_filter_salary(ctx, salary: str, django_q: bool = False) -> Any:
    q = ctx.db.query("posts")
    if django_q:
        return q.filter(Q(salary=salary)).collect()
    return q.filter(lambda f: f.eq(f.field("salary"), salary)).collect()


@query
def team_posts(ctx, team: v.id("teams")) -> Any:
    return get_many_from(ctx.db, "posts", "posts_by_team", team)


@query
def posts_all(ctx, ids: list[str]) -> Any:
    return get_all(ctx.db, "posts", ids)


@query
def teams_with_post(ctx, title: str = "", salary: str = "") -> Any:
    """Teams with a post of this title (or salary): a Django Q filter joining posts."""
    if salary:
        return ctx.db.query("teams").filter(Q(post__salary=salary)).collect()
    return ctx.db.query("teams").filter(Q(post__title=title)).collect()


@query
def teams_with_member(ctx, user: str) -> Any:
    """Teams with this member: a Q filter joining members, a table without rules."""
    return ctx.db.query("teams").filter(Q(members__user=user)).collect()


# --- teams and members ------------------------------------------------------------------------


@mutation
def create_team(ctx, name: str) -> str:
    return ctx.db.insert("teams", {"name": name})


@mutation
def join(ctx, team: v.id("teams"), user: str) -> str:
    return ctx.db.insert("members", {"team": team, "user": user})


@mutation
def delete_team(ctx, team: v.id("teams")) -> None:
    """teams has no delete rule (default allow); its posts cascade (on_delete=CASCADE)."""
    ctx.db.delete("teams", team)


@mutation
def leave(ctx, member: v.id("members")) -> None:
    ctx.db.delete("members", member)


@query
def team(ctx, id: v.id("teams")) -> Any:
    return ctx.db.get("teams", id)


@query
def teams_of(ctx, user: str) -> Any:
    return get_many_via(ctx.db, "members", "team", "by_user", user)


# --- diaries (Python read rule) ---------------------------------------------------------------


@mutation
def write_diary(ctx, body: str, shared: bool = False, score: int = 0, owner: str = "") -> str:
    identity = ctx.auth.get_user_identity()
    who = owner or (identity.subject if identity else "")
    doc = {"owner": who, "body": body, "shared": shared, "score": score}
    return ctx.db.insert("diaries", doc)


@mutation
def patch_diary(ctx, id: str, fields: dict[str, Any]) -> None:
    ctx.db.patch("diaries", id, fields)


@mutation
def delete_diary(ctx, id: str) -> None:
    ctx.db.delete("diaries", id)


@query
def diaries(ctx, how: str = "collect", n: int = 3) -> Any:
    q = ctx.db.query("diaries").with_index("diaries_by_score")
    if how == "collect":
        return q.collect()
    if how == "take":
        return q.take(n)
    if how == "first":
        return q.first()
    if how == "unique":
        return q.filter(lambda f: f.eq(f.field("score"), n)).unique()
    if how == "iterate":
        return list(q)
    raise ValueError(how)


@query
def diaries_page(ctx, paginationOpts: dict[str, Any]) -> Any:
    return ctx.db.query("diaries").with_index("diaries_by_score").paginate(paginationOpts)


@query
def diary(ctx, id: str) -> Any:
    return ctx.db.get("diaries", id)


# --- internal functions: trusted, unwrapped; wrap_db used explicitly -------------------------


@internal_query
def all_posts(ctx) -> Any:
    return ctx.db.query("posts").collect()


#: Deny by default: only counters named "open" may be read; nothing may be written.
DENY = Rules(
    {"counters": TableRules(read_filter=Q(name="open"))},
    default="deny",
)

#: A read filter naming a field the model does not have (a rule bug).
BAD_FILTER = Rules({"counters": TableRules(read_filter=lambda ctx: Q(nosuchfield=1))})

#: System table rules: a scheduled function is visible only when its name says "visible".
SYSTEM = Rules(
    {
        "_scheduled_functions": TableRules(
            read=lambda ctx, doc: "visible" in str(doc.get("args")),
        )
    }
)

#: A read filter through a model that is not a registered table (auth's groups).
UNREGISTERED_JOIN = Rules({"users": TableRules(read_filter=lambda ctx: Q(groups__name="staff"))})

EXPLICIT = {
    "deny": DENY,
    "bad_filter": BAD_FILTER,
    "system": SYSTEM,
    "unregistered_join": UNREGISTERED_JOIN,
}


@internal_query
def explicit_read(ctx, rules: str, table: str, system: bool = False) -> Any:
    db = wrap_db(ctx, ctx.db, EXPLICIT[rules])
    source = db.system if system else db
    return {
        "collect": source.query(table).collect(),
        "page": source.query(table).paginate({"numItems": 10, "cursor": None})["page"],
        "get": [
            source.get(table, d["_id"])
            for d in (ctx.db.system if system else ctx.db).query(table).collect()
        ],
    }


@internal_mutation
def explicit_write(ctx, rules: str, op: str, table: str, id: str = "") -> Any:
    db = wrap_db(ctx, ctx.db, EXPLICIT[rules])
    if op == "insert":
        return db.insert(table, {"name": "new", "value": 1})
    if op == "patch":
        return db.patch(table, id, {"value": 2})
    if op == "delete":
        return db.delete(table, id)
    raise ValueError(op)


# --- bench/rules.py: one page of diaries under a Q rule, a Python rule, or none ----------------


def _subject(ctx: Any) -> str | None:
    identity = ctx.auth.get_user_identity()
    return identity.subject if identity else None


BENCH = {
    "q": Rules({"diaries": TableRules(read_filter=lambda ctx: Q(owner=_subject(ctx)))}),
    "python": Rules({"diaries": TableRules(read=lambda ctx, doc: doc["owner"] == _subject(ctx))}),
}


class _CountingReader:
    """Below the rules: counts the rows a page read from the database."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.rows = inner, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def query(self, table: str) -> Any:
        import dataclasses

        return dataclasses.replace(self.inner.query(table), reader=self)

    def paginate_query(self, query: Any, opts: Any) -> dict[str, Any]:
        page = self.inner.paginate_query(query, opts)
        self.rows += len(page["page"])
        return page


@internal_query
def bench_page(ctx, mode: str, paginationOpts: dict[str, Any]) -> Any:
    counting = _CountingReader(ctx.db)
    db = counting if mode == "none" else wrap_db(ctx, counting, BENCH[mode])
    page = db.query("diaries").with_index("diaries_by_score").paginate(paginationOpts)
    return {**page, "rowsRead": counting.rows}
