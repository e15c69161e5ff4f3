"""The executor: visibility, kinds, errors, logs, limits, actions and determinism guards."""

from __future__ import annotations

import pytest
from django.test import override_settings

from reactive import ConvexError, Int64, api, ids, internal
from reactive.errors import (
    ArgumentValidationError,
    FunctionNotFound,
    InternalError,
    LimitExceeded,
    NotAllowedHere,
    ReturnValidationError,
)
from reactive.functions.executor import execute
from reactive.testing import ReactiveClient
from tests.helpers import in_mutation, in_query
from tests.testapp.models import Channel

pytestmark = pytest.mark.django_db(transaction=True)


def test_internal_functions_are_hidden_from_clients():
    out = execute("testapp:secret", {}, from_client=True)
    assert isinstance(out.error, FunctionNotFound)
    assert out.error.message == "Could not find public function for 'testapp:secret'"
    assert execute("testapp:secret", {}).unwrap() == "internal only"
    assert execute(internal.testapp.secret).unwrap() == "internal only"
    with pytest.raises(FunctionNotFound, match="internal.testapp.secret"):
        execute(api.testapp.secret).unwrap()


def test_unknown_function_and_kind_mismatch():
    assert isinstance(execute("testapp:nope", from_client=True).error, FunctionNotFound)
    out = execute("testapp:create_channel", {"name": "x"}, kind="query")
    assert "as Query, but it is defined as Mutation" in out.error.message
    assert not Channel.objects.exists()


def test_argument_errors_name_function_and_field():
    out = execute("testapp:typed", {"s": 1, "n": 1, "f": 1, "b": True, "i": Int64(1), "by": b""})
    assert isinstance(out.error, ArgumentValidationError)
    assert "testapp:typed" in out.error.message and "`s`" in out.error.message
    out = execute("testapp:create_channel", {"name": "x", "extra": 1})
    assert "`extra`" in out.error.message
    assert not Channel.objects.exists()
    out = execute("testapp:ping", ["not", "an", "object"])
    assert isinstance(out.error, ArgumentValidationError)


def test_return_validation():
    out = execute("testapp:bad_return")
    assert isinstance(out.error, ReturnValidationError)
    assert "testapp:bad_return" in out.error.message


def test_convex_error_carries_data():
    out = execute("testapp:fail_convex")
    assert isinstance(out.error, ConvexError)
    assert out.error.data == {"code": "NOPE", "n": 7}


def test_internal_errors_are_redacted_outside_debug():
    out = execute("testapp:boom")
    assert isinstance(out.error, InternalError) and out.error.message == "Server Error"
    with override_settings(DEBUG=True):
        out = execute("testapp:boom")
    assert "secret internal detail" in out.error.message and "Traceback" in out.error.message


def test_log_lines():
    out = execute("testapp:logs")
    assert out.log_lines == ["[LOG] hello 1", "[WARN] careful", "[ERROR] from logging"]


def test_network_io_is_refused_in_queries():
    out = execute("testapp:net")
    assert isinstance(out.error, NotAllowedHere) and "network" in out.error.message


def test_actions_run_outside_transactions_and_call_through_executor(client: ReactiveClient):
    result = client.action(api.testapp.action_calls, {"name": "from-action"})
    assert result["names"] == ["from-action"] and result["secret"] == "internal only"
    assert result["doubled"] == {"doubled": 4.0}
    result = client.action(api.testapp.async_action, {"name": "async"})
    assert "async" in result["names"]


@pytest.mark.parametrize(
    "path, match",
    [
        ("testapp:mutation_calls_action", "only available in actions"),
        ("testapp:query_calls_mutation", "not available in a query"),
        ("testapp:action_uses_db", "actions have no ctx.db"),
    ],
)
def test_calls_convex_forbids(path, match):
    out = execute(path, {})
    assert isinstance(out.error, NotAllowedHere)
    assert match in out.error.message
    assert not Channel.objects.exists()


def test_query_can_run_queries_including_internal():
    assert execute("testapp:query_calls_query").unwrap() == {
        "inner": "pong",
        "secret": "internal only",
    }


@pytest.mark.parametrize(
    "limits, body, match",
    [
        ({"documents_read": 3}, lambda ctx: ctx.db.query("channels").collect(), "documents read"),
        (
            {"index_ranges": 2},
            lambda ctx: [ctx.db.query("channels").first() for _ in range(3)],
            "index ranges",
        ),
    ],
)
def test_read_limits(limits, body, match):
    in_mutation(lambda ctx: [ctx.db.insert("channels", {"name": f"c{i}"}) for i in range(5)])
    with override_settings(REACTIVE={"LIMITS": limits}):
        out = in_query(body)
    assert isinstance(out.error, LimitExceeded) and match in out.error.message


def test_write_limit_rolls_back():
    with override_settings(REACTIVE={"LIMITS": {"documents_written": 3}}):
        out = in_mutation(
            lambda ctx: [ctx.db.insert("channels", {"name": f"c{i}"}) for i in range(5)]
        )
    assert isinstance(out.error, LimitExceeded) and "documents written" in out.error.message
    assert not Channel.objects.exists()


def test_time_limit():
    with override_settings(REACTIVE={"LIMITS": {"function_seconds": 0.2}}):
        out = execute("testapp:slow", {"seconds": 0.3})
    assert isinstance(out.error, LimitExceeded) and "execution time" in out.error.message


def test_argument_and_result_size_limits():
    with override_settings(REACTIVE={"LIMITS": {"argument_bytes": 100}}):
        out = execute("testapp:echo", {"x": "y" * 200})
    assert isinstance(out.error, LimitExceeded) and "arguments are too large" in out.error.message
    with override_settings(REACTIVE={"LIMITS": {"result_bytes": 100}}):
        out = execute("testapp:echo", {"x": "y" * 90, "z": "y" * 20})
    assert isinstance(out.error, LimitExceeded) and "result is too large" in out.error.message


def test_identity_reaches_nested_calls():
    alice = ReactiveClient().with_identity("alice", name="Alice")
    assert alice.query(api.testapp.whoami) == {
        "subject": "alice",
        "issuer": "test",
        "tokenIdentifier": "test|alice",
        "name": "Alice",
    }
    assert ReactiveClient().query(api.testapp.whoami) is None


def test_unknown_settings_fail_the_system_check_and_calls():
    from django.core import checks

    with override_settings(REACTIVE={"NOT_A_KEY": 1}):
        errors = [m for m in checks.run_checks() if m.id == "reactive.E004"]
        out = execute("testapp:ping")
    assert errors and "NOT_A_KEY" in errors[0].msg
    assert isinstance(out.error, InternalError)  # clients see "Server Error", never config


def test_byte_limits():
    in_mutation(
        lambda ctx: [
            ctx.db.insert("channels", {"name": f"c{i}", "topic": "t" * 150}) for i in range(3)
        ]
    )
    with override_settings(REACTIVE={"LIMITS": {"bytes_read": 300}}):
        out = in_query(lambda ctx: ctx.db.query("channels").collect())
    assert isinstance(out.error, LimitExceeded) and "bytes read" in out.error.message
    with override_settings(REACTIVE={"LIMITS": {"bytes_written": 300}}):
        out = in_mutation(
            lambda ctx: [
                ctx.db.insert("channels", {"name": f"d{i}", "topic": "t" * 150}) for i in range(3)
            ]
        )
    assert isinstance(out.error, LimitExceeded) and "bytes written" in out.error.message
    assert Channel.objects.count() == 3


def test_async_action_logs_are_kept_and_internal_logs_are_not():
    out = execute("testapp:async_logs")
    assert out.unwrap() == "ok"
    assert out.log_lines == [
        "[LOG] from an async action",
        "[LOG] hello 1",
        "[WARN] careful",
        "[ERROR] from logging",
    ]
    assert execute("testapp:boom").log_lines == []  # reactive's own error log stays server-side


def test_time_waiting_on_the_database_is_not_the_functions_time():
    # Convex counts a function's own time apart from the time it awaits the database: a
    # mutation that waited out concurrent writers' row locks has not run for that long.
    with override_settings(REACTIVE={"LIMITS": {"function_seconds": 0.3}}):
        out = execute("testapp:pg_sleep", {"seconds": 0.15, "times": 4})
    assert out.error is None and out.value == "slept"
    limits = {"function_seconds": 0.3, "database_seconds": 0.4}
    with override_settings(REACTIVE={"LIMITS": limits}):
        out = execute("testapp:pg_sleep", {"seconds": 0.15, "times": 4})
    assert isinstance(out.error, LimitExceeded)
    assert "testapp:pg_sleep: database time (s) limit exceeded (0.6" in out.error.message


def test_statement_timeout_is_a_time_limit():
    with override_settings(REACTIVE={"LIMITS": {"function_seconds": 0.2}}):
        out = execute("testapp:pg_sleep", {"seconds": 2})
    assert isinstance(out.error, LimitExceeded) and "cancelled" in out.error.message


def test_unknown_nested_settings_keys():
    from django.core import checks

    with override_settings(REACTIVE={"LIMITS": {"documents_red": 1}}):
        errors = [m for m in checks.run_checks() if m.id == "reactive.E004"]
    assert errors and "documents_red" in errors[0].msg


def test_v_id_of_a_model_class_validates_and_calls_succeed():
    cid = execute("testapp:create_channel", {"name": "general"}).unwrap()
    assert execute("testapp:channel_name", {"channel": cid}, from_client=True).unwrap() == "general"
    assert execute(
        "testapp:channel_names_by_id", {"channels": [cid]}, from_client=True
    ).unwrap() == ["general"]
    out = execute(
        "testapp:channel_name", {"channel": ids.encode_id("messages", 1)}, from_client=True
    )
    assert isinstance(out.error, ArgumentValidationError)
    assert "testapp:channel_name" in out.error.message
    assert "id of table 'channels'" in out.error.message
