"""Mutations are atomic and serializable; conflicts retry; lock mode; savepoints; snapshots."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import override_settings

from reactive import ConvexError, api, internal_mutation, internal_query
from reactive.errors import ConflictError
from reactive.functions.executor import execute
from reactive.testing import ReactiveClient
from tests.testapp.models import Channel, Counter

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(n, fn):
    def wrapped(i):
        try:
            return fn(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(wrapped, range(n)))


def test_failed_mutation_writes_nothing(client: ReactiveClient):
    with pytest.raises(ConvexError) as exc:
        client.mutation(api.testapp.write_then_fail, {"name": "ghost"})
    assert exc.value.data == {"code": "ROLLED_BACK"}
    assert not Channel.objects.exists()


@pytest.mark.parametrize("fn", ["testapp:counter_inc", "testapp:counter_inc_locked"])
def test_concurrent_increments_lose_nothing(fn):
    Counter.objects.create(name="c", value=0)
    outcomes = run_threads(8, lambda i: [execute(fn, {"name": "c"}) for _ in range(10)])
    flat = [o for batch in outcomes for o in batch]
    assert [o.error for o in flat if o.error] == []
    assert Counter.objects.get(name="c").value == 80
    values = sorted(o.value for o in flat)
    assert values == list(range(1, 81))  # every call saw a distinct, serial state
    if fn == "testapp:counter_inc":
        assert max(o.attempts for o in flat) > 1  # conflicts happened and were retried


def test_hot_row_retries_queue_up_instead_of_running_out():
    """Callers that keep conflicting on one hot row wait their turn (an advisory lock per
    function, after QUEUE_AFTER conflicts) rather than exhausting their attempts."""
    from reactive.transactions import retry
    from reactive.transactions.retry import QUEUE_AFTER

    retry._hot_until.clear()  # an earlier test may have left counter_inc hot: queued at once
    Counter.objects.create(name="hot", value=0)
    outcomes = run_threads(
        16, lambda i: [execute("testapp:counter_inc", {"name": "hot"}) for _ in range(10)]
    )
    flat = [o for batch in outcomes for o in batch]
    assert [o.error for o in flat if o.error] == []
    assert Counter.objects.get(name="hot").value == 160
    assert max(o.attempts for o in flat) > QUEUE_AFTER  # the queue was needed, and worked


BARRIER = threading.Barrier(2)
FIRST_CALLS = {"left": 2}


@internal_mutation(path="txtest:read_wait_write")
def read_wait_write(ctx, name: str) -> int:
    row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), name)).unique()
    if FIRST_CALLS["left"] > 0:  # only the first attempts meet: retries go straight on
        FIRST_CALLS["left"] -= 1
        BARRIER.wait(timeout=5)  # both transactions have read before either writes
    ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
    return row["value"] + 1


def test_conflict_is_retried_then_both_apply():
    Counter.objects.create(name="r", value=0)
    BARRIER.reset()
    FIRST_CALLS["left"] = 2
    outs = run_threads(2, lambda i: execute("txtest:read_wait_write", {"name": "r"}))
    assert all(o.ok for o in outs), [o.error for o in outs]
    assert sorted(o.attempts for o in outs) == [1, 2]
    assert Counter.objects.get(name="r").value == 2


def test_exhausted_retries_give_a_clear_conflict_error():
    Counter.objects.create(name="x", value=0)
    BARRIER.reset()
    FIRST_CALLS["left"] = 2
    with override_settings(REACTIVE={"RETRY": {"max_attempts": 1}}):
        outs = run_threads(2, lambda i: execute("txtest:read_wait_write", {"name": "x"}))
    errors = [o.error for o in outs if o.error]
    assert len(errors) == 1 and isinstance(errors[0], ConflictError)
    assert "write conflict" in errors[0].message and "txtest:read_wait_write" in errors[0].message
    assert Counter.objects.get(name="x").value == 1  # the loser wrote nothing


def test_nested_mutation_is_a_savepoint(client: ReactiveClient):
    result = client.mutation(api.testapp.nested_partial, {"name": "outer"})
    assert result["caught"] == {"code": "ROLLED_BACK"}
    assert list(Channel.objects.values_list("name", flat=True)) == ["outer"]


EVENT_READ, EVENT_WRITTEN = threading.Event(), threading.Event()


@internal_query(path="txtest:two_reads")
def two_reads(ctx) -> list[int]:
    first = len(ctx.db.query("channels").collect())
    EVENT_READ.set()
    EVENT_WRITTEN.wait(timeout=5)
    return [first, len(ctx.db.query("channels").collect())]


def test_query_reads_one_snapshot():
    EVENT_READ.clear()
    EVENT_WRITTEN.clear()

    def writer():
        EVENT_READ.wait(timeout=5)
        execute(api.testapp.create_channel, {"name": "during"}).unwrap()
        EVENT_WRITTEN.set()

    t = threading.Thread(target=lambda: (writer(), connections.close_all()))
    t.start()
    out = execute("txtest:two_reads")
    connections.close_all()
    t.join()
    assert out.unwrap() == [0, 0]
    assert Channel.objects.count() == 1


def test_now_is_frozen_and_random_seeded_per_call(client: ReactiveClient):
    a = client.mutation(api.testapp.now_random)
    b = client.mutation(api.testapp.now_random)
    assert a["random"] != b["random"]
    assert 0 <= b["now"] - a["now"] < 60_000


SETTINGS_SQL = (
    "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only'),"
    " current_setting('enable_seqscan'), current_setting('statement_timeout'),"
    " current_setting('lock_timeout')"
)


def _settings() -> list[str]:
    with connections["default"].cursor() as cursor:
        cursor.execute(SETTINGS_SQL)
        return list(cursor.fetchone())


@internal_mutation(path="txtest:settings_serializable")
def settings_serializable(ctx) -> list[str]:
    return _settings()


@internal_mutation(path="txtest:settings_locked", isolation="select_for_update")
def settings_locked(ctx) -> list[str]:
    return _settings()


@internal_query(path="txtest:settings_query")
def settings_query(ctx) -> list[str]:
    return _settings()


EXPECTED_SETTINGS = {
    "txtest:settings_serializable": ["serializable", "off", "off", "1s", "500ms"],
    "txtest:settings_locked": ["read committed", "off", "on", "1s", "500ms"],
    "txtest:settings_query": ["repeatable read", "on", "on", "1s", "0"],
}


@pytest.mark.parametrize("path", sorted(EXPECTED_SETTINGS))
@pytest.mark.parametrize("logged", [False, True], ids=["one_round_trip", "statements_logged"])
def test_each_call_runs_at_its_isolation_with_its_flags(path, logged):
    """Whichever way the transaction is opened (BEGIN and the flags in one message, or in two
    statements when Django logs every statement), the body sees the same isolation and flags."""
    from django.test.utils import CaptureQueriesContext

    connections["default"].close()  # no setting of an earlier test's session carries over
    if logged:
        with CaptureQueriesContext(connections["default"]) as captured:
            outcome = execute(path, {})
        assert any("SET TRANSACTION ISOLATION LEVEL" in q["sql"] for q in captured)
    else:
        outcome = execute(path, {})
    assert outcome.error is None, outcome.error
    assert outcome.value == EXPECTED_SETTINGS[path]


def test_a_call_opens_its_transaction_in_one_round_trip(tmp_path):
    """libpq's own trace of what the client sends: BEGIN, the isolation level and the SET LOCAL
    flags go in one message, with no separate BEGIN before it; then the body, then COMMIT."""
    from psycopg import pq

    conn = connections["default"]
    conn.ensure_connection()
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as sink:
        conn.connection.pgconn.trace(sink.fileno())
        conn.connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            outcome = execute("txtest:settings_serializable", {})
        finally:
            conn.connection.pgconn.untrace()
    assert outcome.error is None, outcome.error
    sent = [
        line.split("\t", 3)[3].strip().strip('"')
        for line in trace.read_text().splitlines()
        if line.startswith("F\t") and line.split("\t")[2] in ("Query", "Parse")
    ]
    assert sent == [
        "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL enable_seqscan = off; "
        "SET LOCAL statement_timeout = 1000; SET LOCAL lock_timeout = 500",
        SETTINGS_SQL,
        "COMMIT",
    ]


def test_a_connection_the_database_closed_while_idle_is_replaced_before_the_call():
    """The server ends the process's idle connection (a restart, an idle-session timeout): the
    one-message BEGIN fails on it, nothing has run, and the call runs on a new connection."""
    conn = connections["default"]
    conn.ensure_connection()
    pid = conn.connection.info.backend_pid
    with connections["default"].cursor():
        pass
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    outcome = execute("txtest:settings_serializable", {})
    assert outcome.error is None, outcome.error
    assert outcome.value == EXPECTED_SETTINGS["txtest:settings_serializable"]
    assert conn.connection.info.backend_pid != pid


@pytest.mark.parametrize("logged", [False, True], ids=["one_round_trip", "statements_logged"])
def test_a_connection_lost_during_the_begin_message_is_an_operational_error(logged):
    """The server ends the connection while it runs the call's first message, on the attempt
    and on its retry on a new connection: the error is a lost connection (OperationalError,
    `is_connection_failure`: DatabaseUnavailable, a scheduled mutation retried), whichever way
    the transaction was opened, not a bare DatabaseError reported as a bug in the function."""
    from django.db import OperationalError
    from django.test.utils import CaptureQueriesContext

    from reactive.conf import reactive_settings
    from reactive.functions.failures import is_connection_failure
    from reactive.transactions.retry import run_in_transaction

    def call():
        return run_in_transaction(
            lambda attempt: attempt,
            using="default",
            isolation="serializable",
            policy=reactive_settings.RETRY,
            setup="SELECT pg_terminate_backend(pg_backend_pid())",  # dies mid-message
        )

    with pytest.raises(Exception) as raised:
        if logged:
            with CaptureQueriesContext(connections["default"]):
                call()
        else:
            call()
    assert isinstance(raised.value, OperationalError), repr(raised.value)
    assert is_connection_failure(raised.value)
    outcome = execute("txtest:settings_serializable", {})  # the next call gets a new one
    assert outcome.error is None, outcome.error
