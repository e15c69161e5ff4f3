"""reactive.sync.protocol: every client message parsed, its field checks and their errors, the
timestamp encoding and its bounds, and the server messages. No database, no socket."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from reactive.errors import ConvexError
from reactive.functions.outcome import Outcome
from reactive.sync.protocol import (
    MAX_INT,
    MAX_SESSION_ID,
    MAX_TS,
    Add,
    Authenticate,
    CallMessage,
    Connect,
    Event,
    ModifyQuerySet,
    ProtocolError,
    Remove,
    Spliced,
    action_response,
    auth_error,
    decode_ts,
    dumps,
    encode_modification,
    encode_ts,
    fatal_error,
    mutation_response,
    parse,
    ping,
    query_failed,
    version,
)
from reactive.values import Int64, encode


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def error_of(raw: str) -> str:
    with pytest.raises(ProtocolError) as exc:
        parse(raw)
    return str(exc.value)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize("ts", [0, 1, 255, 256, 2**32, 1_700_000_000_000_000_000, MAX_TS])
def test_ts_round_trips(ts: int) -> None:
    assert decode_ts(encode_ts(ts)) == ts


def test_ts_is_eight_little_endian_bytes_in_standard_base64() -> None:
    assert encode_ts(1) == "AQAAAAAAAAA="
    assert encode_ts(256) == "AAEAAAAAAAA="
    assert base64.b64decode(encode_ts(MAX_TS)) == b"\xff" * 7 + b"\x7f"


def test_max_ts_is_the_largest_signed_64_bit_integer() -> None:
    assert MAX_TS == 2**63 - 1


def test_a_ts_above_max_ts_is_refused() -> None:
    with pytest.raises(ValueError, match=r"at most 2\^63 - 1"):
        decode_ts(b64((MAX_TS + 1).to_bytes(8, "little")))
    with pytest.raises(ValueError, match=r"at most 2\^63 - 1"):
        decode_ts(b64(b"\xff" * 8))


@pytest.mark.parametrize("raw", [b"", b"\x01" * 7, b"\x01" * 9])
def test_a_ts_of_other_than_eight_bytes_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="a timestamp is 8 bytes"):
        decode_ts(b64(raw))


@pytest.mark.parametrize("value", ["not base64!", "AQAAAAAAAAA", "AQAA*AAAAAA="])
def test_a_ts_that_is_not_standard_base64_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        decode_ts(value)


# --- frames ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "not json", "[1]", "1", '"Connect"', "null"])
def test_a_frame_must_be_a_json_object(raw: str) -> None:
    assert error_of(raw) == "a frame must be a JSON object"


def test_a_frame_nested_too_deeply_is_refused() -> None:
    assert error_of("[" * 100_000 + "]" * 100_000) == "the frame is nested too deeply"


def test_an_unknown_message_type_is_named() -> None:
    assert error_of(frame(type="Subscribe")) == "unknown message type 'Subscribe'"
    assert error_of(frame(sessionId="s")) == "unknown message type None"


# --- Connect ---------------------------------------------------------------------------------


def test_connect_with_every_field() -> None:
    msg = parse(
        frame(
            type="Connect",
            sessionId="0b7f-uuid",
            connectionCount=3,
            lastCloseReason="InitialConnect",
            maxObservedTimestamp=encode_ts(42),
        )
    )
    assert msg == Connect(session_id="0b7f-uuid", connection_count=3, max_observed_ts=42)


def test_connect_optional_fields_default() -> None:
    assert parse(frame(type="Connect", sessionId="s")) == Connect("s", 0, None)
    assert parse(
        frame(type="Connect", sessionId="s", connectionCount=None, maxObservedTimestamp=None)
    ) == Connect("s", 0, None)


def test_connect_session_id_of_the_largest_length() -> None:
    assert parse(frame(type="Connect", sessionId="x" * MAX_SESSION_ID)).session_id == (
        "x" * MAX_SESSION_ID
    )


@pytest.mark.parametrize("session_id", ["", "x" * (MAX_SESSION_ID + 1), "a\x00b"])
def test_connect_session_id_bounds(session_id: str) -> None:
    assert error_of(frame(type="Connect", sessionId=session_id)) == (
        "Connect.sessionId must be 1 to 64 characters (the client's UUID)"
    )


@pytest.mark.parametrize("session_id", [None, 5, ["s"]])
def test_connect_session_id_must_be_a_string(session_id: Any) -> None:
    assert error_of(frame(type="Connect", sessionId=session_id)) == (
        "Connect.sessionId must be a string"
    )


@pytest.mark.parametrize(
    "ts", [5, 1.5, True, {"$integer": "AQAAAAAAAAA="}, "junk!", b64(b"\x01" * 4), b64(b"\xff" * 8)]
)
def test_connect_max_observed_timestamp_checks(ts: Any) -> None:
    assert error_of(frame(type="Connect", sessionId="s", maxObservedTimestamp=ts)) == (
        "Connect.maxObservedTimestamp must be 8 bytes of base64 (a u64 of at most 2^63 - 1)"
    )


@pytest.mark.parametrize("count", [-1, 1.5, True, "1", MAX_INT + 1])
def test_connect_connection_count_checks(count: Any) -> None:
    assert error_of(frame(type="Connect", sessionId="s", connectionCount=count)) == (
        "Connect.connectionCount must be an integer from 0 to 2^53-1"
    )


def test_connect_connection_count_up_to_max_int() -> None:
    assert (
        parse(frame(type="Connect", sessionId="s", connectionCount=MAX_INT)).connection_count
        == MAX_INT
    )


# --- ModifyQuerySet --------------------------------------------------------------------------


def modify(*mods: Any, base: Any = 0, new: Any = 1) -> str:
    return frame(type="ModifyQuerySet", baseVersion=base, newVersion=new, modifications=list(mods))


def test_modify_query_set_adds_and_removes() -> None:
    msg = parse(
        modify(
            {"type": "Add", "queryId": 0, "udfPath": "messages:list", "args": [{"channel": "c"}]},
            {
                "type": "Add",
                "queryId": 1,
                "udfPath": "messages:page",
                "args": [{}],
                "journal": '{"end": 1}',
            },
            {"type": "Remove", "queryId": 7},
            base=2,
            new=3,
        )
    )
    assert msg == ModifyQuerySet(
        2,
        3,
        [
            Add(0, "messages:list", {"channel": "c"}),
            Add(1, "messages:page", {}, '{"end": 1}'),
            Remove(7),
        ],
    )


def test_modify_query_set_args_are_convex_values() -> None:
    (add,) = parse(
        modify(
            {
                "type": "Add",
                "queryId": 0,
                "udfPath": "a:b",
                "args": [{"n": {"$integer": encode_ts(5)}}],
            }
        )
    ).modifications
    assert add == Add(0, "a:b", {"n": Int64(5)})


def test_modify_query_set_lenient_about_optional_fields() -> None:
    (add,) = parse(
        modify({"type": "Add", "queryId": 0, "udfPath": "a:b", "journal": 5})
    ).modifications
    assert add == Add(0, "a:b", {}, None)  # no args: {}; a journal not a string: none
    assert parse(modify()) == ModifyQuerySet(0, 1, [])


@pytest.mark.parametrize("mods", [None, {}, "Add"])
def test_modify_query_set_modifications_must_be_an_array(mods: Any) -> None:
    assert (
        error_of(frame(type="ModifyQuerySet", baseVersion=0, newVersion=1, modifications=mods))
        == "ModifyQuerySet.modifications must be an array"
    )


def test_modify_query_set_modification_checks() -> None:
    assert error_of(modify(["Add"])) == "a query set modification must be an object"
    assert error_of(modify({"type": "Replace", "queryId": 0})) == (
        "unknown query set modification 'Replace'"
    )
    assert error_of(modify({"queryId": 0})) == "unknown query set modification None"
    assert error_of(modify({"type": "Add", "queryId": -1, "udfPath": "a:b"})) == (
        "Add.queryId must be an integer from 0 to 2^53-1"
    )
    assert error_of(modify({"type": "Remove", "queryId": "0"})) == (
        "Remove.queryId must be an integer from 0 to 2^53-1"
    )
    assert error_of(modify({"type": "Add", "queryId": 0, "udfPath": None})) == (
        "Add.udfPath must be a string"
    )
    assert error_of(modify({"type": "Add", "queryId": 0, "udfPath": "a:b", "args": {}})) == (
        "Add.args must be a one-element array"
    )
    assert (
        error_of(modify({"type": "Add", "queryId": 0, "udfPath": "a:b", "args": [{}, {}]}))
        == "Add.args must be a one-element array"
    )
    assert error_of(
        modify({"type": "Add", "queryId": 0, "udfPath": "a:b", "args": [{"$bad": 1}]})
    ) == ("Add.args: unknown special key '$bad' at args")


@pytest.mark.parametrize(
    "field, value",
    [("baseVersion", -1), ("baseVersion", None), ("newVersion", 2.5), ("newVersion", MAX_INT + 1)],
)
def test_modify_query_set_version_checks(field: str, value: Any) -> None:
    fields = {"baseVersion": 0, "newVersion": 1, field: value}
    assert error_of(frame(type="ModifyQuerySet", modifications=[], **fields)) == (
        f"ModifyQuerySet.{field} must be an integer from 0 to 2^53-1"
    )


# --- Mutation and Action ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Mutation", "Action"])
def test_calls(kind: str) -> None:
    msg = parse(
        frame(type=kind, requestId=4, udfPath="messages:send", args=[{"body": "hi", "tags": ["a"]}])
    )
    assert msg == CallMessage(kind, 4, "messages:send", {"body": "hi", "tags": ["a"]})
    assert parse(frame(type=kind, requestId=0, udfPath="x")) == CallMessage(kind, 0, "x", {})


@pytest.mark.parametrize("kind", ["Mutation", "Action"])
def test_call_checks(kind: str) -> None:
    assert error_of(frame(type=kind, udfPath="a:b", args=[{}])) == (
        f"{kind}.requestId must be an integer from 0 to 2^53-1"
    )
    assert error_of(frame(type=kind, requestId=1, args=[{}])) == f"{kind}.udfPath must be a string"
    assert error_of(frame(type=kind, requestId=1, udfPath="a:b", args=[])) == (
        f"{kind}.args must be a one-element array"
    )
    assert error_of(frame(type=kind, requestId=1, udfPath="a:b", args=[{"$integer": "AA=="}])) == (
        f"{kind}.args: $integer at args must be 8 bytes of base64"
    )


# --- Authenticate and Event ------------------------------------------------------------------


def test_authenticate() -> None:
    assert parse(frame(type="Authenticate", tokenType="User", baseVersion=0, value="jwt")) == (
        Authenticate("User", 0, "jwt")
    )
    assert parse(frame(type="Authenticate", tokenType="None", baseVersion=2)) == (
        Authenticate("None", 2, None)
    )
    assert parse(frame(type="Authenticate", tokenType="Admin", baseVersion=1, value=7)) == (
        Authenticate("Admin", 1, None)
    )  # a value that is not a string is no token


@pytest.mark.parametrize("token_type", [None, "user", "Bearer", 1])
def test_authenticate_token_type(token_type: Any) -> None:
    assert error_of(frame(type="Authenticate", tokenType=token_type, baseVersion=0)) == (
        "Authenticate.tokenType must be User, Admin or None"
    )


def test_authenticate_base_version() -> None:
    assert error_of(frame(type="Authenticate", tokenType="User", value="t")) == (
        "Authenticate.baseVersion must be an integer from 0 to 2^53-1"
    )


def test_event() -> None:
    assert parse(frame(type="Event", eventType="ClientConnect", event={})) == (
        Event("ClientConnect")
    )
    assert parse(frame(type="Event")) == Event("")


# --- server messages -------------------------------------------------------------------------


def test_dumps_is_compact_and_refuses_nan() -> None:
    assert dumps({"type": "Ping", "a": [1, 2]}) == '{"type":"Ping","a":[1,2]}'
    with pytest.raises(ValueError):
        dumps({"value": float("nan")})


def test_server_messages() -> None:
    assert version(2, 1, 256) == {"querySet": 2, "identity": 1, "ts": "AAEAAAAAAAA="}
    assert ping() == {"type": "Ping"}
    assert fatal_error("bad frame") == {"type": "FatalError", "error": "bad frame"}
    assert auth_error("expired", 3) == {
        "type": "AuthError",
        "error": "expired",
        "baseVersion": 3,
        "authUpdateAttempted": True,
    }
    assert query_failed("too many") == {
        "type": "QueryFailed",
        "logLines": [],
        "journal": None,
        "errorMessage": "too many",
    }


def test_call_responses() -> None:
    ok = Outcome("m:f", value=1, encoded=1, log_lines=["[LOG] hi"])
    assert mutation_response(7, ok, 256) == {
        "type": "MutationResponse",
        "requestId": 7,
        "success": True,
        "result": 1,
        "logLines": ["[LOG] hi"],
        "ts": "AAEAAAAAAAA=",
    }
    failed = Outcome("m:f", error=ConvexError({"code": "NOPE"}))
    assert action_response(8, failed) == {
        "type": "ActionResponse",
        "requestId": 8,
        "success": False,
        "result": 'Uncaught ConvexError: {"code": "NOPE"}',
        "logLines": [],
        "errorData": {"code": "NOPE"},
    }
    assert "ts" not in mutation_response(9, failed, 256)  # only a commit has a ts


def test_a_spliced_transition_is_the_same_json_as_the_message_encoded_whole() -> None:
    """A Transition whose modifications reuse a query's body encoded once says, to a JSON
    parser, exactly what the message encoded whole says (non-ASCII text, floats, Int64 and
    bytes encodings, an empty body), and as a dict it is that message."""
    value = encode({"s": "é ü ✓ \U0001f600", "f": [0.1, 1e300, -2.5, 3.0], "i": Int64(-7)})
    value["b"] = encode(b"\x00\xff")
    bodies = [
        {"type": "QueryUpdated", "value": value, "logLines": ["ñ"], "journal": None},
        {"type": "QueryFailed", "errorMessage": "x", "logLines": [], "journal": "j"},
        {},
    ]
    mods = [Spliced(qid, body, encode_modification(body)) for qid, body in enumerate(bodies)]
    message = {
        "type": "Transition",
        "startVersion": version(0, 0, 0),
        "endVersion": version(1, 0, 5),
        "modifications": mods,
    }
    plain = {**message, "modifications": [{**b, "queryId": q} for q, b in enumerate(bodies)]}
    assert message == plain
    assert json.loads(dumps(message)) == json.loads(json.dumps(plain))
    # a modification that is not spliced is encoded in place
    message["modifications"] = [*mods, {"type": "QueryRemoved", "queryId": 9}]
    assert json.loads(dumps(message))["modifications"][-1] == {"type": "QueryRemoved", "queryId": 9}
