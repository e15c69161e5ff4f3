"""Functions at `testapp/files:<name>`, for the file storage tests (reactive.storage)."""

from __future__ import annotations

from typing import Any

from reactive import ConvexError, action, custom_ctx, custom_query, mutation, query, v
from reactive.rules import Rules, TableRules, wrap_db


@mutation
def generate_upload_url(ctx) -> str:
    return ctx.storage.generate_upload_url()


@mutation(args={"storageId": v.id("_storage"), "name": v.string()})
def attach(ctx, storageId: str, name: str) -> str:
    return ctx.db.insert("attachments", {"name": name, "file": storageId})


@query
def attachments(ctx) -> list[dict[str, Any]]:
    """Each attachment with its file's URL (None once the file is deleted)."""
    return [
        {"name": a["name"], "url": ctx.storage.get_url(a["file"])}
        for a in ctx.db.query("attachments").collect()
    ]


@query
def listed(ctx) -> list[dict[str, Any]]:
    return ctx.db.system.query("_storage").collect()


@query(args={"id": v.id("_storage")})
def file_doc(ctx, id: str) -> Any:
    return ctx.db.system.get(id)


@query(args={"id": v.id("_storage")})
def url(ctx, id: str) -> Any:
    return ctx.storage.get_url(id)


@query(args={"id": v.string()})
def metadata(ctx, id: str) -> Any:
    return ctx.storage.get_metadata(id)


@mutation(args={"id": v.id("_storage"), "fail": v.optional(v.boolean())})
def delete(ctx, id: str, fail: bool = False) -> None:
    ctx.storage.delete(id)
    if fail:
        raise ConvexError("rolled back after the delete")


@action(args={"text": v.string(), "contentType": v.optional(v.string())})
def store_text(ctx, text: str, contentType: str | None = None) -> str:
    return ctx.storage.store(text.encode(), content_type=contentType)


@action(args={"size": v.number()})
def store_zeros(ctx, size: float) -> str:
    return ctx.storage.store(bytes(int(size)))


@action(args={"id": v.id("_storage")})
def read(ctx, id: str) -> Any:
    return ctx.storage.get(id)


@action(args={"id": v.id("_storage")})
def action_details(ctx, id: str) -> Any:
    return {"url": ctx.storage.get_url(id), "metadata": ctx.storage.get_metadata(id)}


@action(args={"id": v.id("_storage")})
def action_delete(ctx, id: str) -> None:
    ctx.storage.delete(id)


@action(args={"text": v.string()})
async def store_async(ctx, text: str) -> Any:
    id = await ctx.storage.astore(text.encode(), "text/plain")
    return {"id": id, "bytes": await ctx.storage.aget(id)}


@query(args={"what": v.string()})
def misuse_in_query(ctx, what: str) -> Any:
    if what == "upload_url":
        return ctx.storage.generate_upload_url()
    if what == "delete":
        return ctx.storage.delete("x")
    return ctx.storage.store(b"x")


@mutation(args={"what": v.string()})
def misuse_in_mutation(ctx, what: str) -> Any:
    if what == "store":
        return ctx.storage.store(b"x")
    return ctx.storage.get(what)


# A ctx.db under rules that hide every stored file: ctx.storage reads through the ctx's own db,
# so the files are hidden from get_url and get_metadata too.
HIDE_FILES = Rules({"_storage": TableRules(read=lambda ctx, doc: False)}, default="allow")
hidden_files_query = custom_query(
    query, custom_ctx(lambda ctx: {"db": wrap_db(ctx, ctx.db, HIDE_FILES)})
)


@hidden_files_query(args={"id": v.id("_storage")})
def hidden_details(ctx, id: str) -> Any:
    return {"url": ctx.storage.get_url(id), "metadata": ctx.storage.get_metadata(id)}
