"""The official PyPI `convex` 0.8.1 legacy HTTP client (`convex.http_client`) on a live server."""

from __future__ import annotations

import base64
import struct
import uuid

import pytest
from convex import ConvexError, ConvexInt64
from convex.http_client import ConvexExecutionError, ConvexHttpClient
from convex.values import json_to_convex

# The live server commits to pytest-django's test database, which pytest-django (4.14) only
# creates when a collected test asks for database access: without the django_db mark, running
# these tests alone would point the server at the development database.
pytestmark = [pytest.mark.interop, pytest.mark.django_db]


@pytest.fixture
def convex(asgi_server) -> ConvexHttpClient:
    return ConvexHttpClient(asgi_server.url)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_query(convex: ConvexHttpClient) -> None:
    assert convex.query("testapp:ping") == "pong"
    assert convex.query("testapp:ping", {}) == "pong"
    assert convex.query("testapp") == "default export"
    assert convex.query("testapp:default") == "default export"
    assert convex.query("testapp:echo", {"a": "x", "n": 2, "nested": {"l": [1, None, True]}}) == {
        "a": "x",
        "n": 2.0,
        "nested": {"l": [1.0, None, True]},
    }


def test_mutation(convex: ConvexHttpClient) -> None:
    name = _unique("py-chan")
    channel = convex.mutation("testapp:create_channel", {"name": name, "topic": "interop"})
    assert isinstance(channel, str) and channel
    assert name in convex.query("testapp:channel_names")
    body = _unique("hi from python")
    message = convex.mutation(
        "testapp/messages:send", {"channel": channel, "body": body, "author": "py"}
    )
    assert isinstance(message, str) and message and message != channel
    assert {"body": body, "author": "py"} in convex.query("testapp/messages:latest")


def test_documents_read_back(convex: ConvexHttpClient) -> None:
    """A message row has an IntegerField (`score`): a whole-number float64 must decode too."""
    channel = convex.mutation("testapp:create_channel", {"name": _unique("py-docs")})
    message = convex.mutation(
        "testapp/messages:send", {"channel": channel, "body": "hi from python", "author": "py"}
    )
    rows = convex.query("testapp/messages:list", {"channel": channel})
    assert isinstance(rows, list) and len(rows) == 1, rows
    row = rows[0]
    assert row["_id"] == message
    assert row["channel"] == channel
    assert row["body"] == "hi from python"
    assert row["author"] == "py"
    assert row["score"] == 0.0
    assert isinstance(row["_creationTime"], float) and row["_creationTime"] > 1.5e12


def test_mutation_failing_after_a_write_leaves_nothing(convex: ConvexHttpClient) -> None:
    name = _unique("py-rollback")
    with pytest.raises(ConvexError) as info:
        convex.mutation("testapp:write_then_fail", {"name": name})
    assert info.value.data == {"code": "ROLLED_BACK"}
    assert name not in convex.query("testapp:channel_names")


def test_action(convex: ConvexHttpClient) -> None:
    assert convex.action("testapp:plain_action", {"x": 21}) == {"doubled": 42.0}
    assert convex.action("testapp:plain_action") == {"doubled": 2.0}


def test_int64_round_trip(convex: ConvexHttpClient) -> None:
    for n in (2**40 + 3, -(2**63), 2**63 - 1, 0, -1):
        result = convex.query("testapp:echo", {"i": ConvexInt64(n), "f": 2.5})
        assert isinstance(result["i"], ConvexInt64), result
        assert result == {"i": ConvexInt64(n), "f": 2.5}


def test_int64_results(convex: ConvexHttpClient) -> None:
    """`big_int` returns Int64s next to a whole-number float64 (a Python int)."""
    big = convex.query("testapp:big_int")
    assert big["i"] == ConvexInt64(2**62) and isinstance(big["i"], ConvexInt64)
    assert big["neg"] == ConvexInt64(-1) and isinstance(big["neg"], ConvexInt64)
    assert big == {"i": ConvexInt64(2**62), "neg": ConvexInt64(-1), "f": 1.5, "n": 3.0}


def test_typed_arguments_round_trip(convex: ConvexHttpClient) -> None:
    """`typed` returns its `n: int` argument: a whole-number float64 result must decode too."""
    result = convex.query(
        "testapp:typed",
        {"s": "x", "n": 1, "f": 1.5, "b": True, "i": ConvexInt64(2**40 + 3), "by": b"\x00"},
    )
    assert result == {
        "s": "x",
        "n": 1.0,
        "f": 1.5,
        "b": True,
        "i": ConvexInt64(2**40 + 3),
        "by": b"\x00",
        "opt": None,
        "tags": None,
    }
    assert isinstance(result["i"], ConvexInt64)


def test_bytes_round_trip(convex: ConvexHttpClient) -> None:
    assert convex.query("testapp:bytes_echo", {"data": b"\x01\x02\x03\xfa\x00\xff"}) == (
        b"\xff\x00\xfa\x03\x02\x01"
    )
    assert convex.query("testapp:bytes_echo", {"data": b""}) == b""


def test_convex_error_carries_data(convex: ConvexHttpClient) -> None:
    with pytest.raises(ConvexError) as info:
        convex.query("testapp:fail_convex")
    # The legacy client hands over `errorData` as it came over the wire (convex-encoded JSON).
    seven = base64.b64encode(struct.pack("<q", 7)).decode()
    assert info.value.data == {"code": "NOPE", "n": {"$integer": seven}}
    assert json_to_convex(info.value.data) == {"code": "NOPE", "n": ConvexInt64(7)}

    with pytest.raises(ConvexError) as info:
        convex.query("testapp:fail_convex_string")
    assert info.value.data == "plain message"
    assert str(info.value) == "plain message"


def test_plain_error_hides_details(convex: ConvexHttpClient) -> None:
    with pytest.raises(ConvexExecutionError) as info:
        convex.query("testapp:boom")
    assert "secret internal detail" not in str(info.value)
    assert "Server Error" in str(info.value)


def test_unknown_function_raises(convex: ConvexHttpClient) -> None:
    with pytest.raises(ConvexExecutionError, match="Could not find public function"):
        convex.query("testapp:no_such_function")
    with pytest.raises(ConvexExecutionError, match="Could not find public function"):
        convex.mutation("nosuchmodule:fn", {"a": 1})
    with pytest.raises(ConvexExecutionError, match="Could not find public function"):
        convex.action("testapp/nosuch:fn")


def test_internal_function_refused(convex: ConvexHttpClient) -> None:
    with pytest.raises(ConvexExecutionError, match="Could not find public function") as info:
        convex.query("testapp:secret")
    assert "internal only" not in str(info.value)
    name = _unique("py-internal")
    with pytest.raises(ConvexExecutionError, match="Could not find public function"):
        convex.mutation("testapp:internal_touch", {"name": name})


def test_wrong_kind_and_bad_args_are_function_errors(convex: ConvexHttpClient) -> None:
    with pytest.raises(ConvexExecutionError, match="Query"):
        convex.mutation("testapp:ping")
    with pytest.raises(ConvexExecutionError, match="testapp:typed"):
        convex.query("testapp:typed", {"s": 1.0})


def test_log_lines_printed_in_debug(
    convex: ConvexHttpClient, capsys: pytest.CaptureFixture[str]
) -> None:
    convex.set_debug(True)
    assert convex.query("testapp:logs") == "ok"
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["[LOG] hello 1", "[WARN] careful", "[ERROR] from logging"], out
