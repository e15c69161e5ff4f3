"""Functions at `testapp/custom:<name>`, built with custom function builders."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from reactive import (
    ConvexError,
    Customization,
    MutationCtx,
    QueryCtx,
    action,
    api,
    custom_action,
    custom_ctx,
    custom_mutation,
    custom_query,
    internal_query,
    mutation,
    query,
    v,
)

SECRET = "secret"


class HideSecret:
    """A ctx.db wrapper (a reader): channels whose topic is SECRET do not exist."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @staticmethod
    def _shown(doc: dict[str, Any] | None) -> bool:
        return doc is not None and doc.get("topic") != SECRET

    def get(self, table_or_id: str, id: str | None = None) -> dict[str, Any] | None:
        doc = self._inner.get(table_or_id, id)
        return doc if self._shown(doc) else None

    def query(self, table: str) -> Any:
        return dataclasses.replace(self._inner.query(table), reader=self)

    def collect_query(self, query: Any, limit: int | None = None) -> list[dict[str, Any]]:
        return [d for d in self._inner.collect_query(query, limit) if self._shown(d)]

    def iterate_query(self, query: Any) -> Iterator[dict[str, Any]]:
        return (d for d in self._inner.iterate_query(query) if self._shown(d))

    def paginate_query(self, query: Any, opts: Any) -> dict[str, Any]:
        page = self._inner.paginate_query(query, opts)
        return {**page, "page": [d for d in page["page"] if self._shown(d)]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class HideSecretWriter(HideSecret):
    """HideSecret in a mutation: it also refuses to write a SECRET channel."""

    def insert(self, table: str, document: dict[str, Any]) -> str:
        if table == "channels" and document.get("topic") == SECRET:
            raise ConvexError({"code": "NO_SECRETS"})
        return str(self._inner.insert(table, document))


# -- builders ----------------------------------------------------------------------------------


def _session(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    return {"ctx": {"session": args["session"]}}


SESSION = Customization(args={"session": v.string()}, input=_session)
session_query = custom_query(query, SESSION)
internal_session_query = custom_query(internal_query, SESSION)


def _who(ctx: Any) -> dict[str, Any]:
    identity = ctx.auth.get_user_identity()
    return {"who": identity.subject if identity else "anon"}


who_mutation = custom_mutation(mutation, custom_ctx(_who))


def _greeting(ctx: Any, role: str = "member") -> dict[str, Any]:
    return {"greeting": f"{role} {ctx.who}"}  # ctx.who: the inner builder's field


greeting_mutation = custom_mutation(who_mutation, custom_ctx(_greeting))

hidden_query = custom_query(query, custom_ctx(lambda ctx: {"db": HideSecret(ctx.db)}))
hidden_mutation = custom_mutation(
    mutation, custom_ctx(lambda ctx: {"db": HideSecretWriter(ctx.db)})
)


def _audited(ctx: Any, args: dict[str, Any], subject: str = "custom") -> dict[str, Any]:
    def on_success(ctx: Any, args: dict[str, Any], result: Any) -> None:
        ctx.db.insert("audit", {"subject": subject, "operation": "success", "doc": str(result)})

    return {"on_success": on_success}


audited_mutation = custom_mutation(mutation, Customization(input=_audited))


def _percent(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    return {"args": {"factor": args["percent"] / 100}}


scaled_query = custom_query(query, Customization(args={"percent": v.number()}, input=_percent))


async def _who_async(ctx: Any) -> dict[str, Any]:
    identity = ctx.auth.get_user_identity()
    return {"who": identity.subject if identity else "anon"}


who_action = custom_action(action, custom_ctx(_who_async))


# -- functions ---------------------------------------------------------------------------------


@session_query
def whoami(ctx: Any, greeting: str = "hi") -> str:
    return f"{greeting} {ctx.session}"


@session_query(args={"n": v.number()}, returns=v.object({"session": v.string(), "n": v.number()}))
def session_n(ctx: Any, n: float) -> dict[str, Any]:
    return {"session": ctx.session, "n": n}


@internal_session_query
def whoami_internal(ctx: Any) -> str:
    return f"internal {ctx.session}"


@who_mutation
def create_channel_as(ctx: MutationCtx, name: str) -> str:
    return str(ctx.db.insert("channels", {"name": name, "topic": ctx.who}))  # type: ignore[attr-defined]


@who_mutation
def add_reply_as(ctx: Any, topic: v.id("topics"), body: str) -> str:
    return str(ctx.db.insert("replies", {"topic": topic, "body": f"{ctx.who}: {body}"}))


@greeting_mutation(role="admin")
def greet_admin(ctx: Any) -> str:
    return str(ctx.greeting)


@greeting_mutation
def greet(ctx: Any) -> str:
    return str(ctx.greeting)


@hidden_query
def channel_names(ctx: QueryCtx, prefix: str) -> list[str]:
    names = [c["name"] for c in ctx.db.query("channels").collect()]
    return sorted(n for n in names if n.startswith(prefix))


@hidden_query
def get_channel(ctx: QueryCtx, channel: v.id("channels")) -> Any:
    return ctx.db.get("channels", channel)


@hidden_mutation
def create_channel(ctx: MutationCtx, name: str, topic: str = "") -> str:
    return ctx.db.insert("channels", {"name": name, "topic": topic})


@audited_mutation(subject="channels")
def audited_create(ctx: MutationCtx, name: str, fail: bool = False) -> str:
    channel = ctx.db.insert("channels", {"name": name})
    if fail:
        raise ConvexError({"code": "FAILED"})
    return channel


@scaled_query(args={"x": v.number()})
def scaled(ctx: QueryCtx, x: float, factor: float) -> float:
    return x * factor


@who_action
async def action_who(ctx: Any) -> str:
    return f"{ctx.who} {await ctx.arun_query(api.testapp.ping)}"


@who_action
def action_who_sync(ctx: Any) -> str:
    return f"{ctx.who} {ctx.run_query(api.testapp.ping)}"
