"""Convex's WebSocket sync protocol: parsing client frames and building server frames. No I/O.

Client → server: Connect, ModifyQuerySet, Mutation, Action, Authenticate, Event. Server → client:
Transition, MutationResponse, ActionResponse, AuthError, FatalError, Ping. Timestamps are u64 as
8 little-endian bytes in standard base64 (`encode_ts`). Function arguments are always a
one-element array. Parsing is strict about what the official clients always send and lenient
about optional fields; anything else is a `ProtocolError`, which the consumer answers with a
FatalError and a close.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProtocolError as ProtocolError  # re-exported: old import path
from ..functions.outcome import Outcome, error_data, error_message
from ..values import ValueEncodingError, decode


def encode_ts(ts: int) -> str:
    return base64.b64encode(int(ts).to_bytes(8, "little")).decode()


MAX_TS = 2**63 - 1  # the official Rust client refuses larger timestamps


def decode_ts(value: str) -> int:
    raw = base64.b64decode(value, validate=True)
    if len(raw) != 8:
        raise ValueError("a timestamp is 8 bytes")
    ts = int.from_bytes(raw, "little")
    if ts > MAX_TS:
        raise ValueError("a timestamp is at most 2^63 - 1")
    return ts


@dataclass(frozen=True)
class Add:
    query_id: int
    udf_path: str
    args: Any
    journal: str | None = None


@dataclass(frozen=True)
class Remove:
    query_id: int


@dataclass(frozen=True)
class ModifyQuerySet:
    base_version: int
    new_version: int
    modifications: list[Add | Remove] = field(default_factory=list)


@dataclass(frozen=True)
class Connect:
    session_id: str
    connection_count: int
    max_observed_ts: int | None = None


@dataclass(frozen=True)
class CallMessage:
    """A Mutation or an Action message."""

    kind: str  # "Mutation" | "Action"
    request_id: int
    udf_path: str
    args: Any


@dataclass(frozen=True)
class Authenticate:
    token_type: str  # "User" | "Admin" | "None"
    base_version: int
    value: str | None = None


@dataclass(frozen=True)
class Event:
    event_type: str


Message = Connect | ModifyQuerySet | CallMessage | Authenticate | Event


MAX_SESSION_ID = 64
MAX_INT = 2**53 - 1  # ids and versions are JavaScript numbers in the official clients


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise ProtocolError(f"{data.get('type')}.{key} must be an integer from 0 to 2^53-1")
    return value


def _bad_ts() -> int:
    raise ValueError("not a string")


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"{data.get('type')}.{key} must be a string")
    return value


def _args(data: dict[str, Any]) -> Any:
    raw = data.get("args", [{}])
    if not isinstance(raw, list) or len(raw) != 1:
        raise ProtocolError(f"{data.get('type')}.args must be a one-element array")
    try:
        return decode(raw[0], path="args")
    except ValueEncodingError as exc:
        raise ProtocolError(f"{data.get('type')}.args: {exc}") from None


def parse(frame: str) -> Message:
    """Parse one text frame."""
    try:
        data = json.loads(frame)
    except ValueError:
        raise ProtocolError("a frame must be a JSON object") from None
    except RecursionError:
        raise ProtocolError("the frame is nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError("a frame must be a JSON object")
    kind = data.get("type")
    if kind == "Connect":
        session_id = _str(data, "sessionId")
        if not 0 < len(session_id) <= MAX_SESSION_ID or "\x00" in session_id:
            raise ProtocolError(
                f"Connect.sessionId must be 1 to {MAX_SESSION_ID} characters (the client's UUID)"
            )
        ts = data.get("maxObservedTimestamp")
        if ts is not None:
            try:
                ts = decode_ts(ts) if isinstance(ts, str) else _bad_ts()
            except ValueError:
                raise ProtocolError(
                    "Connect.maxObservedTimestamp must be 8 bytes of base64 "
                    "(a u64 of at most 2^63 - 1)"
                ) from None
        count = data.get("connectionCount")
        return Connect(
            session_id=session_id,
            connection_count=0 if count is None else _int(data, "connectionCount"),
            max_observed_ts=ts,
        )
    if kind == "ModifyQuerySet":
        mods: list[Add | Remove] = []
        raw_mods = data.get("modifications")
        if not isinstance(raw_mods, list):
            raise ProtocolError("ModifyQuerySet.modifications must be an array")
        for mod in raw_mods:
            if not isinstance(mod, dict):
                raise ProtocolError("a query set modification must be an object")
            if mod.get("type") == "Add":
                journal = mod.get("journal")
                mods.append(
                    Add(
                        _int(mod, "queryId"),
                        _str(mod, "udfPath"),
                        _args(mod),
                        journal if isinstance(journal, str) else None,
                    )
                )
            elif mod.get("type") == "Remove":
                mods.append(Remove(_int(mod, "queryId")))
            else:
                raise ProtocolError(f"unknown query set modification {mod.get('type')!r}")
        return ModifyQuerySet(_int(data, "baseVersion"), _int(data, "newVersion"), mods)
    if kind in ("Mutation", "Action"):
        return CallMessage(kind, _int(data, "requestId"), _str(data, "udfPath"), _args(data))
    if kind == "Authenticate":
        token_type = data.get("tokenType")
        if token_type not in ("User", "Admin", "None"):
            raise ProtocolError("Authenticate.tokenType must be User, Admin or None")
        value = data.get("value")
        return Authenticate(
            token_type, _int(data, "baseVersion"), value if isinstance(value, str) else None
        )
    if kind == "Event":
        return Event(str(data.get("eventType", "")))
    raise ProtocolError(f"unknown message type {kind!r}")


# --- server messages ------------------------------------------------------------------------


def dumps(message: dict[str, Any]) -> str:
    """A server message's text. A Transition's `Spliced` modifications are not encoded again:
    their text, encoded once for every socket holding the query, is spliced in."""
    if message.get("type") == "Transition":
        mods = ",".join(
            m.text if isinstance(m, Spliced) else _dumps(m) for m in message["modifications"]
        )
        rest = {k: v for k, v in message.items() if k != "modifications"}
        return f'{_dumps(rest)[:-1]},"modifications":[{mods}]}}'
    return _dumps(message)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def encode_modification(modification: dict[str, Any]) -> str:
    """A query's QueryUpdated / QueryFailed body (without its queryId) as JSON text, once."""
    return _dumps(modification)


class Spliced(dict[str, Any]):
    """A Transition modification whose JSON text is built from the query's shared encoded
    body (`encode_modification`) and this socket's query id, without encoding the body again.
    As a dict it holds the same content (for readers of the message, e.g. tests)."""

    __slots__ = ("text",)

    def __init__(self, query_id: int, modification: dict[str, Any], encoded: str) -> None:
        super().__init__(modification, queryId=query_id)
        self.text = (
            f'{{"queryId":{query_id},{encoded[1:]}'
            if len(encoded) > 2
            else (f'{{"queryId":{query_id}}}')
        )


def version(query_set: int, identity: int, ts: int) -> dict[str, Any]:
    return {"querySet": query_set, "identity": identity, "ts": encode_ts(ts)}


def ping() -> dict[str, Any]:
    return {"type": "Ping"}


def fatal_error(message: str) -> dict[str, Any]:
    return {"type": "FatalError", "error": message}


def auth_error(message: str, base_version: int, attempted: bool = True) -> dict[str, Any]:
    """``attempted``: refusing an Authenticate (True), or the token in use expired (False)."""
    return {
        "type": "AuthError",
        "error": message,
        "baseVersion": base_version,
        "authUpdateAttempted": attempted,
    }


def query_failed(message: str) -> dict[str, Any]:
    """A query's modification refusing it (no run: e.g. over the per-socket limit)."""
    return {"type": "QueryFailed", "logLines": [], "journal": None, "errorMessage": message}


def mutation_response(request_id: int, outcome: Outcome, ts: int) -> dict[str, Any]:
    """A MutationResponse; ``ts`` (the commit's, in the socket's labels) only on success."""
    response = _call_response("MutationResponse", request_id, outcome)
    if outcome.ok:
        response["ts"] = encode_ts(ts)
    return response


def action_response(request_id: int, outcome: Outcome) -> dict[str, Any]:
    return _call_response("ActionResponse", request_id, outcome)


def _call_response(kind: str, request_id: int, outcome: Outcome) -> dict[str, Any]:
    if outcome.ok:
        return {
            "type": kind,
            "requestId": request_id,
            "success": True,
            "result": outcome.encoded,
            "logLines": outcome.log_lines,
        }
    assert outcome.error is not None
    body: dict[str, Any] = {
        "type": kind,
        "requestId": request_id,
        "success": False,
        "result": error_message(outcome.error),
        "logLines": outcome.log_lines,
    }
    body.update(error_data(outcome.error))
    return body
