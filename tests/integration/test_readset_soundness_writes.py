"""The write side of read-set soundness: the change log captures what `Outcome.writes` says,
bad writes are refused (documents.py), and a success means the writes committed (executor,
transactions)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections

from reactive import internal_mutation, v
from reactive.functions.registry import registry
from tests import soundness_support as support
from tests.helpers import in_mutation
from tests.soundness_support import make_channel, make_messages, mutate
from tests.testapp.models import Channel, Counter

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
things = support.things


# --- the harness ----------------------------------------------------------------------------


def test_change_log_captures_what_outcome_writes_says(things: None):
    """The harness: both write sets are checked, so both must be there."""
    cid = make_channel()
    written = mutate(
        lambda ctx: [
            ctx.db.insert("messages", {"channel": cid, "body": "x", "author": "a"}),
            ctx.db.insert("snd", {"num": 1}),
        ]
    )
    written.unwrap()
    tables_written = sorted(w.table for w in written.captured)
    assert tables_written == sorted(w.table for w in written.outcome.writes) == ["messages", "snd"]
    for captured, reported in zip(
        sorted(written.captured, key=lambda w: w.table),
        sorted(written.outcome.writes, key=lambda w: w.table),
        strict=True,
    ):
        assert captured.new == reported.new and captured.op == reported.op == "insert"


# --- write validation (documents.py) -------------------------------------------------------


def test_bug_objects_and_arrays_are_stringified_into_text_fields():
    """`column_value` trusts `field.to_python`, and CharField/TextField.to_python is `str(x)`: an
    object or an array written to a text field is stored as its Python repr instead of being
    refused (DESIGN: bad input is a clear client error naming the table and field)."""
    from reactive.errors import DocumentValidationError

    cid = make_channel()
    for bad in ({"author": {"x": 1}, "body": "b"}, {"author": "a", "body": ["x", 1]}):
        out = in_mutation(lambda ctx, bad=bad: ctx.db.insert("messages", {"channel": cid, **bad}))
        assert isinstance(out.error, DocumentValidationError), (bad, out.error, out.value)


def test_bug_a_number_for_a_datetime_field_is_an_internal_error(things: None):
    """DateTimeField.to_python(5) raises TypeError (not ValidationError), which `_to_python` does
    not catch: the client gets "Server Error" instead of a validation error naming the field."""
    from reactive.errors import DocumentValidationError

    out = in_mutation(lambda ctx: ctx.db.insert("snd", {"when": 5}))
    assert isinstance(out.error, DocumentValidationError), out.error


# --- what reaches clients: executor and transactions ----------------------------------------


def test_bug_nested_mutation_failing_return_validation_keeps_its_writes():
    """`_run_nested` releases the savepoint before validating the return value, so a nested
    mutation that fails (ReturnsValidationError) still commits its writes with the parent."""

    @internal_mutation(path="soundness:child", returns=v.string())
    def child(ctx: Any) -> Any:
        ctx.db.insert("channels", {"name": "from-child"})
        return 5  # not a string

    def parent(ctx: Any) -> str:
        try:
            ctx.run_mutation("soundness:child", {})
        except Exception as exc:  # the caller sees the nested call fail
            return type(exc).__name__
        return "no error"

    try:
        out = in_mutation(parent)
    finally:
        registry.unregister("soundness:child")
    assert out.unwrap() == "ReturnValidationError"
    assert not Channel.objects.filter(name="from-child").exists()
    assert not any(w.table == "channels" for w in out.writes)


def test_bug_caught_database_error_reports_success_but_commits_nothing():
    """A database error caught by user code leaves the transaction aborted; COMMIT then rolls
    back silently, yet the Outcome says success and lists the writes (a client would be told
    its mutation committed, and the sync engine would be handed writes that never happened)."""
    cid = make_channel()
    make_messages(cid, [("ann", 1)])

    def body(ctx: Any) -> str:
        ctx.db.insert("channels", {"name": "kept"})
        try:  # score / 0 fails in Postgres: division by zero
            ctx.db.query("messages").filter(lambda q: q.eq(q.div(q.field("score"), 0), 1)).collect()
        except Exception:
            return "handled"
        return "no error"

    out = in_mutation(body)
    committed = Channel.objects.filter(name="kept").exists()
    assert out.error is not None or committed, (
        f"Outcome ok ({out.value!r}, writes {[w.op for w in out.writes]}) but nothing committed"
    )


def test_bug_swallowed_serialization_failure_is_neither_retried_nor_reported():
    """docs/architecture.md §6 says a retryable error inside user code cannot be swallowed by
    `except Exception`; it is converted only when it leaves the handler. Caught inside, the
    transaction is aborted, COMMIT silently rolls back and the Outcome reports success."""
    Counter.objects.create(name="hot", value=0)
    have_read, go = threading.Event(), threading.Event()
    attempts: list[int] = []

    @internal_mutation(path="soundness:careful")
    def careful(ctx: Any) -> str:
        attempts.append(1)
        row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), "hot")).unique()
        if len(attempts) == 1:
            have_read.set()
            go.wait(5)
        ctx.db.insert("channels", {"name": "careful"})
        try:
            ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
        except Exception:  # user code being careful with a write that may fail
            return "patch failed"
        return "ok"

    def other() -> None:
        try:
            have_read.wait(5)
            Counter.objects.filter(name="hot").update(value=10)  # commits (autocommit)
        finally:
            go.set()
            connections.close_all()

    try:
        with ThreadPoolExecutor(2) as pool:

            def run() -> Any:
                try:
                    from reactive.functions.executor import execute

                    return execute("soundness:careful", {})
                finally:
                    connections.close_all()

            fut = pool.submit(run)
            pool.submit(other).result()
            out = fut.result()
    finally:
        registry.unregister("soundness:careful")
    committed = Channel.objects.filter(name="careful").exists()
    assert out.error is not None or committed, (
        f"Outcome ok ({out.value!r}, attempts {out.attempts}) but its insert did not commit"
    )
