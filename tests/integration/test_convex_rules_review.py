"""Porting a Convex app, attacked: what the Convex-style layout, Convex's argument rules and
Convex-like documents must also cover (the crons of the layout's root, search results read as
Convex code reads them, a client's pagination options the paginator cannot use)."""

from __future__ import annotations

import importlib
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from reactive import action, mutation, query, v
from reactive.errors import ConfigurationError, QueryError
from reactive.functions.registry import registry
from reactive.scheduler.crons import discover
from reactive.testing import ReactiveClient


@pytest.fixture
def convex_root(tmp_path: Path) -> Iterator[Path]:
    """An importable package ``r13_port.convex``, as a port lays out Convex's convex/ folder."""
    root = tmp_path / "r13_port" / "convex"
    root.mkdir(parents=True)
    (root.parent / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        yield root
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "r13_port" or m.startswith("r13_port.")]:
            del sys.modules[name]


def test_the_crons_of_a_convex_layout_are_found(convex_root: Path) -> None:
    """convex/crons.ts ported to <root>/crons.py: its crons run as the apps' crons do, rather
    than being imported with the functions and then never scheduled."""
    (convex_root / "crons.py").write_text(
        textwrap.dedent(
            """
            from reactive import CronJobs
            from reactive.functions.references import internal

            crons = CronJobs()
            crons.interval("ported cron", {"minutes": 5}, internal.testapp.scheduling.bump,
                           {"name": "ported"})
            """
        )
    )
    with override_settings(REACTIVE={**settings.REACTIVE, "FUNCTIONS_ROOT": "r13_port.convex"}):
        names = {c.name for c in discover()}
    assert "ported cron" in names
    assert "bump every second" in names  # the apps' crons stay


@pytest.mark.django_db(transaction=True)
def test_a_returns_validator_keeps_documents_documents(client: ReactiveClient) -> None:
    """Convex recommends `returns:` validators; adding one must not turn `doc.body` (after
    `ctx.run_query`, in an action, in a test) into an AttributeError."""
    fields = {"channel": v.id("channels"), "author": v.string(), "body": v.string()}
    message = v.object({"_id": v.id("messages"), "_creationTime": v.number(), **fields}).extend(
        {"score": v.number(), "big": v.any(), "payload": v.any(), "rating": v.any()}
    )

    @mutation(path="r13review:seed")
    def seed(ctx):  # type: ignore[no-untyped-def]
        channel = ctx.db.insert("channels", {"name": "general"})
        return ctx.db.insert("messages", {"channel": channel, "author": "a", "body": "hi"})

    @query(path="r13review:get", returns=v.nullable(message))
    def get(ctx, id):  # type: ignore[no-untyped-def]
        return ctx.db.get(id)

    @query(path="r13review:all", returns=v.array(message))
    def all_(ctx):  # type: ignore[no-untyped-def]
        return ctx.db.query("messages").collect()

    @action(path="r13review:read")
    def read(ctx, id):  # type: ignore[no-untyped-def]
        one = ctx.run_query("r13review:get", {"id": id})
        return [one.body, *(doc.author for doc in ctx.run_query("r13review:all", {}))]

    try:
        message_id = client.mutation("r13review:seed", {})
        assert client.action("r13review:read", {"id": message_id}) == ["hi", "a"]
        assert client.query("r13review:get", {"id": message_id})._id == message_id
    finally:
        for name in ("seed", "get", "all", "read"):
            registry.unregister(f"r13review:{name}")


@pytest.mark.django_db(transaction=True)
def test_vector_search_results_read_as_convex_code_reads_them(client: ReactiveClient) -> None:
    """`results.map((r) => r._id)` in Convex: a port writes `hit._id` and `hit._score`."""

    @action(path="r13review:nearest")
    def nearest(ctx):  # type: ignore[no-untyped-def]
        ctx.run_mutation("testapp/vectors:add_point", {"vec": [1.0, 0.0, 0.0], "tag": "a"})
        hits = ctx.vector_search("points", "by_l2", vector=[1.0, 0.0, 0.0], limit=1)
        found = ctx.run_query("r13review:nearest_in_query", {})
        return [[hit._score for hit in hits], found, hits[0]._id == found[0]]

    @query(path="r13review:nearest_in_query")
    def nearest_in_query(ctx):  # type: ignore[no-untyped-def]
        return [hit._id for hit in ctx.vector_search("points", "by_l2", vector=[1, 0, 0])]

    try:
        scores, found, same = client.action("r13review:nearest", {})
        assert (scores, len(found), same) == ([0], 1, True)
    finally:
        for name in ("nearest", "nearest_in_query"):
            registry.unregister(f"r13review:{name}")


@pytest.mark.django_db(transaction=True)
def test_pagination_opts_that_are_no_count_are_one_clear_error(client: ReactiveClient) -> None:
    """v.pagination_opts() takes any float64, as Convex's; Infinity or NaN (a client sends them
    as `$float`) must be the paginator's one line, not an internal error."""

    @query(path="r13review:page", args={"paginationOpts": v.pagination_opts()})
    def page(ctx, paginationOpts):  # type: ignore[no-untyped-def]  # noqa: N803
        return ctx.db.query("messages").paginate(paginationOpts)

    try:
        for key in ("numItems", "maximumRowsRead", "maximumBytesRead"):
            for bad in (float("inf"), float("nan")):
                opts = {"numItems": 5, "cursor": None, key: bad}
                outcome = client.call("r13review:page", {"paginationOpts": opts})
                assert isinstance(outcome.error, QueryError), (key, bad, outcome.error)
                assert f"paginationOpts.{key} must be a " in str(outcome.error)
    finally:
        registry.unregister("r13review:page")


PORTED_TSX = """
import { usePaginatedQuery, useQuery } from "convex/react";
import { api } from "../convex/_generated/api";
import type { Id } from "../convex/_generated/dataModel";

export function Ported({ channel }: { channel: Id<"channels"> }) {
  const typed = usePaginatedQuery(api.r13review.ported_page, { channel }, { initialNumItems: 5 });
  const loose = usePaginatedQuery(api.r13review.loose_page, {}, { initialNumItems: 5 });
  const any = useQuery(api.r13review.loose_page, { paginationOpts: { numItems: 1, cursor: null },
                                                   sessionId: "s" });
  return <p>{typed.results.length} {loose.status} {String(any)}</p>;
}
"""


@pytest.mark.django_db(transaction=True)
def test_ported_paginated_queries_type_check_for_use_paginated_query(tmp_path: Path) -> None:
    """A query declaring `v.pagination_opts()` (Convex's paginationOptsValidator) and one with
    no validators are both what `usePaginatedQuery` takes, with the official client's types."""
    from tests.integration.test_codegen import JS, codegen, tsc

    @query(
        path="r13review:ported_page",
        args={"paginationOpts": v.pagination_opts(), "channel": v.id("channels")},
    )
    def ported_page(ctx, paginationOpts, channel):  # type: ignore[no-untyped-def]  # noqa: N803
        return ctx.db.query("messages").paginate(paginationOpts)

    @query(path="r13review:loose_page")
    def loose_page(ctx, paginationOpts):  # type: ignore[no-untyped-def]  # noqa: N803
        return ctx.db.query("messages").paginate(paginationOpts)

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "Ported.tsx").write_text(PORTED_TSX)
    shutil.copy(JS / "tsconfig.json", tmp_path)
    (tmp_path / "node_modules").symlink_to(JS / "node_modules")
    try:
        codegen(tmp_path / "convex" / "_generated")
    finally:
        for name in ("ported_page", "loose_page"):
            registry.unregister(f"r13review:{name}")
    checked = tsc(tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_reactive_dev_sees_a_file_added_to_the_convex_layout(convex_root: Path) -> None:
    """`npx convex dev` picks up a new file in convex/; `reactive dev` restarts on one added to
    the FUNCTIONS_ROOT package (or a folder of it), as it does for an app's functions package."""
    from reactive.management.dev_server import _code_files

    importlib.import_module("r13_port.convex")  # imported at start-up, as every root is
    with override_settings(REACTIVE={**settings.REACTIVE, "FUNCTIONS_ROOT": "r13_port.convex"}):
        before = _code_files()
        (convex_root / "users.py").write_text("")
        (convex_root / "admin").mkdir()
        (convex_root / "admin" / "tools.py").write_text("")
        added = _code_files().keys() - before.keys()
    assert {p.relative_to(convex_root).as_posix() for p in added} == {"users.py", "admin/tools.py"}


@pytest.mark.django_db(transaction=True)
def test_system_objects_read_as_convex_code_reads_them(client: ReactiveClient) -> None:
    """`(await ctx.db.system.get(jobId)).state.kind` and `(await
    ctx.storage.getMetadata(id)).size`, ported word for word."""

    @query(path="r13review:job_state")
    def job_state(ctx, id):  # type: ignore[no-untyped-def]
        return ctx.db.system.get(id).state.kind

    @query(path="r13review:file_size")
    def file_size(ctx, id):  # type: ignore[no-untyped-def]
        meta = ctx.storage.get_metadata(id)
        return [meta.size, meta.contentType, meta.storageId == id]

    try:
        job = client.mutation("testapp/scheduling:schedule_bump", {"name": "r13", "delay": 0})
        assert client.query("r13review:job_state", {"id": job}) == "pending"
        stored = client.action("testapp/files:store_text", {"text": "four", "contentType": "a/b"})
        assert client.query("r13review:file_size", {"id": stored}) == [4, "a/b", True]
    finally:
        for name in ("job_state", "file_size"):
            registry.unregister(f"r13review:{name}")


def test_a_root_that_is_a_module_says_so(tmp_path: Path) -> None:
    """`chat/convex.py` instead of `chat/convex/`: not "no such package" for a file that is
    there, but what to do about it."""
    from reactive.apps import autodiscover_functions

    (tmp_path / "r13_flat").mkdir()
    (tmp_path / "r13_flat" / "__init__.py").write_text("")
    (tmp_path / "r13_flat" / "convex.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        with override_settings(REACTIVE={**settings.REACTIVE, "FUNCTIONS_ROOT": "r13_flat.convex"}):
            with pytest.raises(ConfigurationError) as exc:
                autodiscover_functions()
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "r13_flat"]:
            del sys.modules[name]
    assert str(exc.value).startswith(
        "REACTIVE['FUNCTIONS_ROOT'] = 'r13_flat.convex': a module, not a package"
    )
