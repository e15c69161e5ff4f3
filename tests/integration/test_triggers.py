"""In-transaction triggers (reactive.triggers) against real Topicgres, through the executor.

The test app's handlers (tests/testapp/triggers.py, autodiscovered) keep `topics.reply_count`,
write an `audit` row per change of a topic, refuse a reply whose body is "boom", and extend a
chain of `links` as deep as the data asks. Ad-hoc handlers are registered for one test and
removed after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pgtrigger
import pytest
from convex import ConvexError as ClientConvexError
from convex.http_client import ConvexExecutionError, ConvexHttpClient
from django.db import connection

from reactive import api, internal_mutation
from reactive.errors import ConfigurationError, ConvexError, LimitExceeded
from reactive.functions import wrappers
from reactive.functions.registry import registry
from reactive.ids import pk_of
from reactive.testing import ReactiveClient, run_scheduled
from reactive.triggers import MAX_DEPTH, Change, TriggerCtx, handlers, register, unregister
from reactive.triggers.cascade import TriggeringWriter
from tests.helpers import in_mutation, in_query
from tests.sync_client import RawSync
from tests.testapp.models import Reply, Topic

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client() -> ReactiveClient:
    return ReactiveClient()


@pytest.fixture
def seen() -> Iterator[list[Change]]:
    """Every change to `replies` and `audit` that reaches a handler, for the test's duration."""
    changes: list[Change] = []

    def record(ctx: TriggerCtx, change: Change) -> None:
        changes.append(change)

    register("replies", record)
    register("audit", record)
    try:
        yield changes
    finally:
        unregister("replies", record)
        unregister("audit", record)


def topic(client: ReactiveClient, title: str = "p") -> str:
    return str(client.mutation("testapp/topics:create_topic", {"title": title}))


def count(client: ReactiveClient, topic_id: str) -> int:
    return int(client.query("testapp/topics:get_topic", {"topic": topic_id})["reply_count"])


def test_a_trigger_keeps_a_denormalised_count(client: ReactiveClient) -> None:
    a, b = topic(client, "a"), topic(client, "b")
    c1 = client.mutation("testapp/topics:add_reply", {"topic": a, "body": "one"})
    client.mutation("testapp/topics:add_replies", {"topic": a, "bodies": ["two", "three"]})
    assert count(client, a) == 3
    client.mutation("testapp/topics:move_reply", {"reply": c1, "topic": b})  # patch
    assert (count(client, a), count(client, b)) == (2, 1)
    # replace, id-only form: the table comes from the id
    client.mutation("testapp/topics:replace_reply", {"reply": c1, "topic": a, "body": "1"})
    assert (count(client, a), count(client, b)) == (3, 0)
    client.mutation("testapp/topics:delete_reply", {"reply": c1})
    assert count(client, a) == 2
    # the database agrees with what the trigger kept
    assert (
        Topic.objects.get(title="a").reply_count == Reply.objects.filter(topic__title="a").count()
    )


def test_the_change_carries_operation_id_and_whole_documents(
    client: ReactiveClient, seen: list[Change]
) -> None:
    a, b = topic(client, "a"), topic(client, "b")
    c = client.mutation("testapp/topics:add_reply", {"topic": a, "body": "x"})
    client.mutation("testapp/topics:move_reply", {"reply": c, "topic": b})
    client.mutation("testapp/topics:delete_reply", {"reply": c})
    mine = [ch for ch in seen if ch.table == "replies"]
    assert [ch.operation for ch in mine] == ["insert", "update", "delete"]
    insert, update, delete = mine
    assert {ch.id for ch in mine} == {c}
    assert insert.old_doc is None and insert.new_doc is not None
    assert insert.new_doc["_id"] == c and insert.new_doc["body"] == "x"
    assert insert.new_doc["topic"] == a and "_creationTime" in insert.new_doc
    assert update.old_doc == insert.new_doc
    assert update.new_doc == {**insert.new_doc, "topic": b}
    assert delete.old_doc == update.new_doc and delete.new_doc is None


def test_cascades_run_breadth_first_and_land_in_the_same_transaction(
    client: ReactiveClient,
) -> None:
    a = topic(client)
    outcome = client.call("testapp/topics:add_reply", {"topic": a, "body": "x"})
    assert outcome.ok, outcome.error
    # reply insert → topics update (level 1) → audit insert (level 2)
    assert client.query("testapp/topics:audit", {"doc": a}) == ["topics insert", "topics update"]
    assert outcome.writes is not None
    assert {w.table for w in outcome.writes} == {"replies", "topics", "audit"}
    client.mutation("testapp/topics:rename_topic", {"topic": a, "title": "new"})  # id-only patch
    assert client.query("testapp/topics:audit", {"doc": a})[-1] == "topics update"


def test_a_handler_that_raises_aborts_the_mutation(client: ReactiveClient) -> None:
    a = topic(client)
    with pytest.raises(ConvexError) as info:
        client.mutation("testapp/topics:add_replies", {"topic": a, "bodies": ["ok", "boom"]})
    assert info.value.data["code"] == "BOOM"
    assert client.query("testapp/topics:replies", {"topic": a}) == []
    assert count(client, a) == 0
    assert client.query("testapp/topics:audit", {"doc": a}) == ["topics insert"]


def test_a_caught_trigger_error_undoes_the_write_and_its_cascade(
    client: ReactiveClient,
) -> None:
    """The write and its handlers share one savepoint: caught, the error leaves nothing of the
    refused reply (not the row, not the count, not the audit row), and the mutation goes on."""
    a = topic(client)
    result = client.mutation("testapp/topics:add_reply_catching", {"topic": a, "body": "fine"})
    assert result["caught"]["code"] == "BOOM"
    assert client.query("testapp/topics:replies", {"topic": a}) == ["fine"]
    assert count(client, a) == 1
    assert client.query("testapp/topics:audit", {"doc": a}) == ["topics insert", "topics update"]


def test_every_mutation_runs_triggers(client: ReactiveClient) -> None:
    a = topic(client)
    client.mutation("testapp/topics:add_reply_internal", {"topic": a, "body": "i"})  # internal
    client.mutation("testapp/custom:add_reply_as", {"topic": a, "body": "c"})  # custom
    in_mutation(lambda ctx: ctx.db.insert("replies", {"topic": a, "body": "adhoc"}))
    nested = in_mutation(
        lambda ctx: ctx.run_mutation("testapp/topics:add_reply", {"topic": a, "body": "n"})
    )
    assert nested.ok, nested.error
    assert count(client, a) == 4
    scheduling = in_mutation(
        lambda ctx: ctx.scheduler.run_after(
            0, api.testapp.topics.add_reply, {"topic": a, "body": "later"}
        )
    )
    assert scheduling.ok, scheduling.error
    assert run_scheduled() == ["success"]  # the scheduler's worker path
    assert count(client, a) == 5


def test_queries_and_mutations_see_the_wrappers_they_should() -> None:
    q = in_query(lambda ctx: type(ctx.db).__name__)
    m = in_mutation(lambda ctx: type(ctx.db).__name__)
    assert q.value == "DatabaseReader"
    assert m.value == TriggeringWriter.__name__
    # the rate limiter (and other code) reads ctx.db.using through the wrapper
    assert in_mutation(lambda ctx: ctx.db.using).value == "default"


def test_a_wrapper_above_triggers_sees_the_functions_writes_not_the_handlers(
    client: ReactiveClient,
) -> None:
    """Row-level rules sit above triggers (order 20): they see what the function writes, and
    the handlers' writes do not go through them."""
    seen: list[str] = []

    class Above:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def insert(self, table: str, document: dict[str, Any]) -> str:
            seen.append(f"insert {table}")
            return str(self._inner.insert(table, document))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    def above(ctx: Any, fn: Any) -> Any:
        if fn.kind.value != "mutation":
            return None
        assert isinstance(ctx.db, TriggeringWriter)  # the triggers' wrapper is below
        return Above(ctx.db)

    a = topic(client)
    wrappers.install("test-above", above, order=15)  # between triggers (10) and rules (20)
    try:
        client.mutation("testapp/topics:add_reply", {"topic": a, "body": "x"})
    finally:
        wrappers.uninstall("test-above")
    assert seen == ["insert replies"]  # not the audit insert its cascade made
    assert count(client, a) == 1
    assert client.query("testapp/topics:audit", {"doc": a}) == ["topics insert", "topics update"]


def test_cascade_depth_is_bounded_and_the_error_names_the_chain(client: ReactiveClient) -> None:
    client.mutation("testapp/topics:start_links", {"stop": MAX_DEPTH})
    assert client.query("testapp/topics:links") == list(range(1, MAX_DEPTH + 1))
    with pytest.raises(LimitExceeded) as info:
        client.mutation("testapp/topics:start_links", {"stop": MAX_DEPTH + 1})
    message = str(info.value)
    assert "testapp/topics:start_links" in message
    assert f"deeper than {MAX_DEPTH} levels" in message
    assert " → ".join(["links insert"] * (MAX_DEPTH + 1)) in message
    assert client.query("testapp/topics:links") == list(range(1, MAX_DEPTH + 1))  # none added


def test_on_delete_cascades_and_orm_writes_do_not_run_triggers(
    client: ReactiveClient, seen: list[Change]
) -> None:
    a = topic(client)
    client.mutation("testapp/topics:add_replies", {"topic": a, "bodies": ["x", "y"]})
    seen.clear()
    client.mutation("testapp/topics:delete_topic", {"topic": a})
    assert Reply.objects.count() == 0  # Django's cascade removed them...
    assert [ch.table for ch in seen] == ["audit"]  # ...without running replies' triggers
    assert client.query("testapp/topics:audit", {"doc": a})[-1] == "topics delete"
    # a write through the ORM (the admin, a script) runs no trigger either
    b = topic(client)
    seen.clear()
    Reply.objects.create(topic=Topic.objects.get(title="p", reply_count=0), body="orm")
    assert seen == [] and count(client, b) == 0


def test_inner_db_writes_without_triggers(client: ReactiveClient, seen: list[Change]) -> None:
    calls: list[str] = []

    def via_inner(ctx: TriggerCtx, change: Change) -> None:
        calls.append(change.operation)
        ctx.inner_db.insert("audit", {"subject": "notes", "operation": "inner", "doc": change.id})
        ctx.db.insert("audit", {"subject": "notes", "operation": "outer", "doc": change.id})

    register("notes", via_inner)
    try:
        note = in_mutation(lambda ctx: ctx.db.insert("notes", {"text": "hi"})).unwrap()
    finally:
        unregister("notes", via_inner)
    assert calls == ["insert"]
    assert sorted(client.query("testapp/topics:audit", {"doc": note})) == [
        "notes inner",
        "notes outer",
    ]
    assert [ch.new_doc["operation"] for ch in seen if ch.new_doc] == ["outer"]


def test_handler_ctx_is_the_mutations(client: ReactiveClient) -> None:
    found: dict[str, Any] = {}

    def look(ctx: TriggerCtx, change: Change) -> None:
        identity = ctx.auth.get_user_identity()
        found.update(
            subject=identity.subject if identity else None,
            path=ctx.path,
            now=ctx.now,
            has_scheduler=ctx.scheduler is not None,
        )
        ctx.log("trigger saw", change.operation)

    @internal_mutation(path="adhoc:note_as")
    def note_as(ctx: Any) -> float:
        ctx.db.insert("notes", {"text": "t"})
        return float(ctx.now)

    register("notes", look)
    try:
        outcome = client.with_identity("ann").call("adhoc:note_as", {})
    finally:
        unregister("notes", look)
        registry.unregister("adhoc:note_as")
    assert outcome.ok, outcome.error
    assert found == {
        "subject": "ann",
        "path": "adhoc:note_as",
        "now": outcome.value,  # the function's frozen ctx.now
        "has_scheduler": True,
    }
    assert any("trigger saw insert" in line for line in outcome.log_lines), outcome.log_lines


def test_registration_mistakes_are_configuration_errors() -> None:
    def ok(ctx: Any, change: Any) -> None: ...

    with pytest.raises(ConfigurationError, match="there is no table 'nope'"):
        register("nope", ok)

    async def later(ctx: Any, change: Any) -> None: ...

    with pytest.raises(ConfigurationError, match="must be synchronous"):
        register("notes", later)
    with pytest.raises(ConfigurationError, match=r"must take \(ctx, change\)"):
        register("notes", lambda ctx: None)


# The database trigger docs/triggers.md shows, for writes that bypass ctx.db (admin, raw SQL).
COUNT_IN_SQL = pgtrigger.Trigger(
    name="keep_reply_count",
    when=pgtrigger.After,
    operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
    func="""
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE testapp_topic SET reply_count = reply_count - 1 WHERE id = OLD.topic_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE testapp_topic SET reply_count = reply_count + 1 WHERE id = NEW.topic_id;
        END IF;
        RETURN NULL;
    """,
)


def test_a_database_trigger_covers_writes_that_bypass_ctx_db(client: ReactiveClient) -> None:
    kept = handlers("replies")
    unregister("replies")  # the SQL trigger keeps the count instead of the Python one
    COUNT_IN_SQL.install(Reply)
    try:
        a = topic(client)
        pk = pk_of("topics", a)
        Reply.objects.create(topic_id=pk, body="orm")  # the ORM, as the admin writes
        assert count(client, a) == 1
        client.mutation("testapp/topics:add_reply", {"topic": a, "body": "fn"})
        assert count(client, a) == 2  # counted once: by the database trigger
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM testapp_reply WHERE topic_id = %s", [pk])
        assert count(client, a) == 0
    finally:
        COUNT_IN_SQL.uninstall(Reply)
        for handler in kept:
            register("replies", handler)
    assert handlers("replies") == kept


@pytest.mark.interop
def test_official_python_client(asgi_server: Any) -> None:
    convex = ConvexHttpClient(asgi_server.url)
    a = convex.mutation("testapp/topics:create_topic", {"title": "http"})
    convex.mutation("testapp/topics:add_replies", {"topic": a, "bodies": ["x", "y"]})
    assert convex.query("testapp/topics:get_topic", {"topic": a})["reply_count"] == 2
    with pytest.raises(ClientConvexError) as info:
        convex.mutation("testapp/topics:add_reply", {"topic": a, "body": "boom"})
    assert info.value.data["code"] == "BOOM"
    assert convex.query("testapp/topics:replies", {"topic": a}) == ["x", "y"]
    assert convex.query("testapp/topics:get_topic", {"topic": a})["reply_count"] == 2
    with pytest.raises(ConvexExecutionError, match="deeper than 8 levels"):
        convex.mutation("testapp/topics:start_links", {"stop": MAX_DEPTH + 1})


# -- over the WebSocket: a subscriber sees the write and what its trigger wrote together ------


async def test_a_subscriber_sees_the_trigger_maintained_count_in_the_same_transition(
    asgi_server: Any,
) -> None:
    client = await RawSync.connect(asgi_server.ws_url)
    try:
        topic_id = await client.mutation("testapp/topics:create_topic", {"title": "live"})
        q_topic = await client.subscribe("testapp/topics:get_topic", {"topic": topic_id})
        q_replies = await client.subscribe("testapp/topics:replies", {"topic": topic_id})
        assert client.results[q_topic]["reply_count"] == 0
        for n, body in enumerate(["one", "two"], start=1):
            before = len(client.transitions)
            await client.mutation("testapp/topics:add_reply", {"topic": topic_id, "body": body})
            assert client.results[q_topic]["reply_count"] == n
            # the Transition that carries the new reply carries the new count too
            (carrying,) = [
                t
                for t in client.transitions[before:]
                if any(m["queryId"] == q_replies for m in t["modifications"])
            ]
            updated = {m["queryId"]: m for m in carrying["modifications"]}
            assert updated[q_replies]["value"][-1] == body
            assert updated[q_topic]["value"]["reply_count"] == n
        response = await client.call(
            "Mutation", "testapp/topics:add_reply", {"topic": topic_id, "body": "boom"}
        )
        assert not response["success"] and response["errorData"]["code"] == "BOOM"
        assert client.results[q_topic]["reply_count"] == 2
    finally:
        await client.close()
