"""Fuzzing the WebSocket sync protocol (`/api/1.48.0/sync`) with hypothesis-made frames.

Two fuzzers, each example on a fresh socket of one live server:

- junk frames: every client message type (Connect, ModifyQuerySet with its Add/Remove
  modifications, Mutation, Action, Authenticate, Event) with each field right, missing or junk
  (wrong types, huge numbers, Convex encodings with garbage, odd strings), unknown types, JSON
  that is not an object, text that is not JSON, binary frames and deep nesting. The server must
  either carry on (it then answers a probe Action and every Mutation and Action it was sent) or
  answer with a FatalError (or an AuthError) that says what was wrong, and close the socket.
- out-of-order sequences, checked against a model of the protocol's state: ModifyQuerySet with a
  wrong baseVersion or a newVersion that does not advance, duplicate query ids, removal of
  unknown ids, Authenticate with a wrong baseVersion, query-set messages before (or without)
  Connect, Connect twice. The model says which message (if any) breaks the protocol: the server
  must answer exactly that one with a FatalError naming the problem and close; if none does,
  the socket must end with exactly the model's queries and their right results, its mutations'
  writes seen, at the model's query-set and identity versions.

Throughout, and concurrently with every example, a healthy socket held open for the whole test
keeps receiving updates of a counter that is incremented over HTTP; the server process stays up
and logs no traceback or ERROR; afterwards a fresh connection subscribes and mutates normally.
Every Transition is checked for version continuity (`RawSync`). Fast in the normal run;
`REACTIVE_LONG=1` runs many more (random) examples. Bugs the fuzzing found are kept as plain
tests at the end of the module.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import websockets
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.fuzz_support import (
    ServerWatch,
    b64,
    depths,
    fuzz_settings,
    junk,
    nested,
    texts,
)
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db(transaction=True)

SYNC_PATH = "/api/1.48.0/sync"
ANSWER_SECONDS = 10.0  # a socket that neither answers nor closes for this long hangs
PROBE_ID = 4_000_000_001  # the request id of the probe Action (the fuzz uses small ids)
SERVER_MESSAGES = {
    "Transition",
    "MutationResponse",
    "ActionResponse",
    "FatalError",
    "AuthError",
    "Ping",
}
CLOSE_CODES = {1000, 1008, 1011}  # normal, policy violation, internal error


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Exchange:
    """What one socket got back."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    answered: collections.Counter[int] = field(default_factory=collections.Counter)

    def of_type(self, *kinds: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] in kinds]

    def describe(self) -> str:
        shown = [json.dumps(m)[:300] for m in self.messages[-8:]]
        return f"close code {self.close_code}; last messages:\n  " + "\n  ".join(shown)


class Harness:
    """One live server, a private event loop, and the healthy socket watched throughout."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.watch = ServerWatch(server)
        self.loop = asyncio.new_event_loop()
        self.http = requests.Session()
        self.counter = unique("fz-healthy")
        self.count = 0
        self.healthy: RawSync | None = None
        self.healthy_qid = -1
        self.reader: asyncio.Task[None] | None = None
        self.reader_error: BaseException | None = None
        self.run(self._start())

    def run(self, coro: Any, timeout: float = 120.0) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def run_with_bump(self, coro: Any) -> Any:
        """Run `coro` while the healthy socket sees the counter go up; both must finish."""

        async def both() -> Any:
            results = await asyncio.gather(coro, self.bump(), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            return results[0]

        return self.run(both())

    async def _start(self) -> None:
        self.healthy = await RawSync.connect(self.server.ws_url)
        self.healthy_qid = await self.healthy.subscribe(
            "testapp:counter_value", {"name": self.counter}
        )
        assert self.healthy.results[self.healthy_qid] is None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.healthy is not None
        try:
            while True:
                await self.healthy.recv(timeout=3600)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a protocol violation, or the socket closed
            self.reader_error = exc

    def diagnose(self) -> str:
        """For a failure message: is the server's subscription engine still ticking?"""
        try:
            stats = []
            for _ in range(2):
                r = self.http.post(
                    self.server.url + "/api/query",
                    json={"path": "testapp:listener_stats", "args": {}},
                    timeout=10,
                )
                stats.append(r.json().get("value"))
                time.sleep(0.5)
            return f"listener stats 0.5 s apart: {stats}"
        except Exception as exc:  # only for a message
            return f"listener stats unavailable: {exc!r}"

    def _http_mutation(self, path: str, args: dict[str, Any]) -> Any:
        r = self.http.post(
            self.server.url + "/api/mutation", json={"path": path, "args": args}, timeout=30
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "success", body
        return body["value"]

    async def bump(self) -> None:
        """Increment the counter over HTTP; the healthy socket must see the new value."""
        self.count += 1
        want = self.count
        value = await asyncio.to_thread(
            self._http_mutation, "testapp:counter_inc", {"name": self.counter}
        )
        assert value == want, (value, want)
        deadline = self.loop.time() + ANSWER_SECONDS
        assert self.healthy is not None
        while self.healthy.results.get(self.healthy_qid) != want:
            assert self.reader_error is None, f"the healthy socket failed: {self.reader_error!r}"
            assert self.loop.time() < deadline, (
                f"the healthy socket did not see the counter reach {want}: it has "
                f"{self.healthy.results.get(self.healthy_qid, '<no result>')}, error "
                f"{self.healthy.errors.get(self.healthy_qid)}, at version "
                f"{self.healthy.version}; {await asyncio.to_thread(self.diagnose)}"
            )
            await asyncio.sleep(0.005)

    async def exchange(
        self, frames: list[str | bytes], expect_calls: list[int], probe: bool
    ) -> Exchange:
        """Send the frames on a fresh socket (then a probe Action), and read until the server
        has closed it, or has answered the probe and every call in `expect_calls`."""
        ws = await websockets.connect(self.server.ws_url + SYNC_PATH, max_size=None)
        client = RawSync(ws)
        out = Exchange()
        try:
            try:
                for frame in frames:
                    await ws.send(frame)
                if probe:
                    await client.send(
                        {
                            "type": "Action",
                            "requestId": PROBE_ID,
                            "udfPath": "testapp:plain_action",
                            "args": [{"x": 21}],
                        }
                    )
            except websockets.ConnectionClosed:
                pass  # closed after an earlier frame: the reading below sees why
            wanted = collections.Counter(expect_calls)
            if probe:
                wanted[PROBE_ID] += 1
            while True:
                try:
                    message = await client.recv(timeout=ANSWER_SECONDS)
                except websockets.ConnectionClosed as exc:
                    out.close_code = exc.rcvd.code if exc.rcvd is not None else None
                    return out
                except TimeoutError:
                    raise AssertionError(
                        f"the socket neither answered nor closed in {ANSWER_SECONDS}s (hang); "
                        f"still waiting for calls {dict(wanted - out.answered)}; "
                        f"{out.describe()}; {await asyncio.to_thread(self.diagnose)}"
                    ) from None
                assert isinstance(message, dict) and message.get("type") in SERVER_MESSAGES, message
                out.messages.append(message)
                if message["type"] in ("MutationResponse", "ActionResponse"):
                    out.answered[message["requestId"]] += 1
                if (
                    probe
                    and not (wanted - out.answered)
                    and not out.of_type("FatalError", "AuthError")
                ):
                    return out
        finally:
            await ws.close()

    async def round_trip(self) -> None:
        """A fresh connection works normally: subscribe, mutate, see the write."""
        client = await RawSync.connect(self.server.ws_url)
        try:
            name = unique("fz-fresh")
            qid = await client.subscribe("testapp:counter_value", {"name": name})
            assert client.results[qid] is None
            assert await client.mutation("testapp:counter_inc", {"name": name}) == 1
            await client.until(lambda: client.results.get(qid) == 1)
            assert await client.subscribe("testapp:ping") is not None
            assert "pong" in client.results.values()
        finally:
            await client.close()

    def finish(self) -> None:
        """After the fuzz: the healthy socket is still fine, a fresh one works, no errors."""
        self.run(self.bump())
        self.run(self.round_trip())
        self.watch.check("the fuzz")

    def close(self) -> None:
        async def stop() -> None:
            if self.reader is not None:
                self.reader.cancel()
                await asyncio.gather(self.reader, return_exceptions=True)
            if self.healthy is not None:
                await self.healthy.close()

        try:
            self.run(stop())
        finally:
            self.http.close()
            self.loop.close()


@pytest.fixture
def harness(asgi_server: Any) -> Any:
    h = Harness(asgi_server)
    yield h
    h.close()


def check_errors_are_clear(out: Exchange, what: str) -> None:
    """Every error the server sent says something more than "an exception happened"."""
    for m in out.of_type("FatalError", "AuthError"):
        assert isinstance(m.get("error"), str) and m["error"].strip(), f"{m} for {what}"
        assert m["error"] != "InternalServerError", (
            f"an unexpected exception instead of a protocol error for {what}\n{out.describe()}"
        )
    for m in out.of_type("MutationResponse", "ActionResponse"):
        if not m["success"]:
            assert isinstance(m["result"], str) and m["result"].strip(), m
            assert m["result"] != "Server Error", f"hidden error {m} for {what}"
    for t in out.of_type("Transition"):
        for mod in t["modifications"]:
            if mod["type"] == "QueryFailed":
                assert mod["errorMessage"] not in ("", "Server Error"), f"{mod} for {what}"


def check_closed_after_error(out: Exchange, what: str) -> None:
    errors = out.of_type("FatalError", "AuthError")
    if out.close_code is None and not errors:
        return
    assert errors, f"the server closed the socket without saying why for {what}\n{out.describe()}"
    assert out.close_code in CLOSE_CODES, f"close code for {what}\n{out.describe()}"
    last = out.messages[-1]
    assert last["type"] in ("FatalError", "AuthError"), (
        f"the server sent more after its error for {what}\n{out.describe()}"
    )


# --- junk frames ---------------------------------------------------------------------------------

ABSENT = object()
QUERY_PATHS = [
    "testapp:ping",
    "testapp:echo",
    "testapp:counter_value",
    "testapp:typed",
    "testapp/messages:list",
    "testapp:nope",
    "testapp:secret",
    "testapp:create_channel",
    "",
    ":",
    "testapp",
]
CALL_PATHS = [
    "testapp:counter_inc",
    "testapp:plain_action",
    "testapp:echo",
    "testapp:ping",
    "testapp:create_channel",
    "testapp:nope",
    "testapp:internal_touch",
    "",
]


def maybe(valid: Any, bad: Any = junk) -> Any:
    """A field: mostly right (so that some sockets carry on), sometimes junk or absent."""
    return st.integers(0, 9).flatmap(
        lambda i: valid if i < 7 else bad if i < 9 else st.just(ABSENT)
    )


def message(**fields: Any) -> Any:
    return st.fixed_dictionaries(fields).map(
        lambda d: {k: v for k, v in d.items() if v is not ABSENT}
    )


call_args = st.one_of(
    st.just([{}]),
    st.fixed_dictionaries({"name": texts}).map(lambda d: [d]),
    st.fixed_dictionaries({"x": st.one_of(st.floats(), junk)}).map(lambda d: [d]),
    st.dictionaries(st.sampled_from(["name", "x", "k", "$integer"]), junk, max_size=3).map(
        lambda d: [d]
    ),
    st.lists(
        st.dictionaries(st.sampled_from(["name", "x"]), junk, max_size=2), min_size=2, max_size=3
    ),
    st.just([]),
)
small_ints = st.integers(min_value=0, max_value=6)
ts_values = st.one_of(
    st.integers(0, 2**40).map(lambda n: b64(n.to_bytes(8, "little"))),
    st.binary(max_size=10).map(b64),
)
connect = message(
    type=st.just("Connect"),
    sessionId=maybe(st.uuids().map(str), texts),
    connectionCount=maybe(st.integers(0, 5)),
    lastCloseReason=maybe(st.sampled_from(["InitialConnect", None, "closed with code 1006"])),
    clientTs=maybe(st.integers(0, 2**53)),
    maxObservedTimestamp=maybe(ts_values),
)
add = message(
    type=st.just("Add"),
    queryId=maybe(small_ints),
    udfPath=maybe(st.sampled_from(QUERY_PATHS)),
    args=maybe(call_args),
    journal=maybe(st.none(), texts),
)
remove = message(type=st.just("Remove"), queryId=maybe(small_ints))
modify = message(
    type=st.just("ModifyQuerySet"),
    baseVersion=maybe(st.integers(0, 2)),
    newVersion=maybe(st.integers(0, 3)),
    modifications=maybe(st.lists(st.one_of(add, add, remove, junk), max_size=4)),
)
calls = message(
    type=st.sampled_from(["Mutation", "Action"]),
    requestId=maybe(st.integers(0, 50)),
    udfPath=maybe(st.sampled_from(CALL_PATHS)),
    args=maybe(call_args),
)
authenticate = message(
    type=st.just("Authenticate"),
    tokenType=maybe(st.sampled_from(["None", "None", "User", "Admin"]), texts),
    baseVersion=maybe(st.integers(0, 2)),
    value=maybe(texts),
)
event_message = message(type=st.just("Event"), eventType=maybe(texts), event=maybe(junk))
unknown_type = st.builds(
    lambda kind, extra: {**extra, "type": kind},
    st.one_of(
        texts,
        junk,
        st.sampled_from(
            [
                "connect",
                "Transition",
                "FatalError",
                "Ping",
                "TransitionChunk",
                "modifyQuerySet",
                "Add",
                "Query",
            ]
        ),
    ),
    st.dictionaries(st.text(max_size=8), junk, max_size=3),
)
messages = st.one_of(
    connect, modify, modify, calls, calls, authenticate, event_message, unknown_type
)


def text_frame(value: Any) -> str:
    # ASCII only: a lone surrogate travels escaped (`\ud800`), as a JSON encoder would send it
    return json.dumps(value, allow_nan=True)


@st.composite
def odd_frames(draw: Any) -> str | bytes:
    how = draw(
        st.sampled_from(
            ["not_json", "not_object", "binary", "binary_json", "deep", "deep_args", "big_number"]
        )
    )
    if how == "not_json":
        return draw(
            st.one_of(
                st.text(max_size=40),
                st.sampled_from(
                    ["", " ", "{", '{"type":"Connect"', "{'type': 'Event'}", "NaN", "\x00"]
                ),
            )
        )
    if how == "not_object":
        return text_frame(draw(junk.filter(lambda j: not isinstance(j, dict))))
    if how == "binary":
        return draw(st.binary(max_size=64))
    if how == "binary_json":  # a good message, in a binary frame
        return text_frame({"type": "Event", "eventType": "x"}).encode()
    if how == "deep":
        return nested(draw(depths), draw(st.sampled_from(["[", "{"])))
    if how == "deep_args":
        inner = nested(draw(depths), draw(st.sampled_from(["[", "{"])))
        return (
            '{"type":"Action","requestId":7,"udfPath":"testapp:echo","args":[{"x":' + inner + "}]}"
        )
    digits = draw(st.integers(min_value=300, max_value=5000))
    where = draw(st.sampled_from(["requestId", "args", "connectionCount", "baseVersion"]))
    number = "9" * digits
    return {
        "requestId": '{"type":"Mutation","requestId":%s,"udfPath":"testapp:ping","args":[{}]}',
        "args": '{"type":"Mutation","requestId":1,"udfPath":"testapp:echo","args":[{"x":%s}]}',
        "connectionCount": '{"type":"Connect","sessionId":"s","connectionCount":%s}',
        "baseVersion": '{"type":"ModifyQuerySet","baseVersion":%s,"newVersion":1,'
        '"modifications":[]}',
    }[where] % number


frames = st.one_of(messages.map(text_frame), messages.map(text_frame), odd_frames())


def expected_calls(sent: list[str | bytes]) -> list[int]:
    """Request ids of the Mutations and Actions sent; all must be answered if the socket
    stays open (had any frame broken the protocol, the server would have closed it)."""
    ids = []
    for frame in sent:
        try:
            data = json.loads(frame) if isinstance(frame, str) else None
        except (ValueError, RecursionError):
            continue
        if isinstance(data, dict) and data.get("type") in ("Mutation", "Action"):
            request_id = data.get("requestId")
            if isinstance(request_id, int) and not isinstance(request_id, bool):
                ids.append(request_id)
    return ids


def describe_frames(sent: list[str | bytes]) -> str:
    return "\n  ".join(repr(f if len(f) < 400 else f[:400] + f[-20:]) for f in sent)


def test_junk_frames_get_a_clear_error_or_an_answer(harness: Harness) -> None:
    @fuzz_settings(fast=100, long=2000)
    @given(sent=st.lists(frames, min_size=1, max_size=4), connect_first=st.booleans())
    def one(sent: list[str | bytes], connect_first: bool) -> None:
        if connect_first:
            sent = [
                text_frame(
                    {
                        "type": "Connect",
                        "sessionId": str(uuid.uuid4()),
                        "connectionCount": 0,
                        "lastCloseReason": "InitialConnect",
                        "clientTs": 0,
                    }
                ),
                *sent,
            ]
        what = "frames:\n  " + describe_frames(sent)
        with harness.watch.example(what):
            out = harness.run_with_bump(harness.exchange(sent, expected_calls(sent), probe=True))
            check_errors_are_clear(out, what)
            check_closed_after_error(out, what)
            if out.close_code is None:  # carried on: the probe and every call were answered
                probe = [m for m in out.of_type("ActionResponse") if m["requestId"] == PROBE_ID]
                assert probe and probe[-1]["success"], f"{what}\n{out.describe()}"

    one()
    harness.finish()


# --- out-of-order sequences, against a model ----------------------------------------------------

QUERIES = [  # (path, args); the counter's args are filled in per example
    ("testapp:ping", {}),
    ("testapp:echo", {"k": "v"}),
    ("testapp:counter_value", None),
    ("testapp:nope", {}),
]
version_choice = st.sampled_from(["right"] * 5 + [0, 1, 2, 3, 5])
new_choice = st.sampled_from(["next"] * 5 + ["jump", "same", "back", 0, 1, 2])
modification = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 5), st.integers(0, len(QUERIES) - 1)),
    st.tuples(st.just("remove"), st.integers(0, 5), st.just(0)),
)
operation = st.one_of(
    st.tuples(st.just("modify"), version_choice, new_choice, st.lists(modification, max_size=4)),
    st.tuples(
        st.just("modify"),
        st.just("right"),
        st.just("next"),
        st.lists(modification, min_size=1, max_size=4),
    ),
    st.tuples(st.just("authenticate"), version_choice),
    st.tuples(st.just("connect"), st.integers(0, 2)),
    st.tuples(
        st.just("mutation"),
    ),
    st.tuples(
        st.just("action"),
    ),
    st.tuples(
        st.just("event"),
    ),
)


class ProtocolModel:
    """What the server must make of a sequence: its versions and query set, and the first
    message that breaks the protocol (with what its FatalError must say)."""

    def __init__(self, counter: str) -> None:
        self.counter = counter
        self.query_set = 0
        self.identity = 0
        self.live: dict[int, int] = {}  # query id -> index into QUERIES
        self.count = 0
        self.mutations: list[int] = []
        self.actions: list[int] = []
        self.next_request = 0
        self.violation: str | None = None

    def _version(self, choice: Any, current: int) -> int:
        return current if choice == "right" else int(choice)

    def frame(self, op: tuple[Any, ...]) -> dict[str, Any]:
        """The message for `op`; records whether it breaks the protocol."""
        kind = op[0]
        if kind == "modify":
            _, base_choice, new_choice, mods = op
            base = self._version(base_choice, self.query_set)
            new = {"next": base + 1, "jump": base + 3, "same": base, "back": max(0, base - 1)}.get(
                new_choice, new_choice
            )
            wire = []
            for how, qid, q in mods:
                if how == "add":
                    path, args = QUERIES[q]
                    wire.append(
                        {
                            "type": "Add",
                            "queryId": qid,
                            "udfPath": path,
                            "args": [args if args is not None else {"name": self.counter}],
                        }
                    )
                else:
                    wire.append({"type": "Remove", "queryId": qid})
            self._modify(base, new, mods)
            return {
                "type": "ModifyQuerySet",
                "baseVersion": base,
                "newVersion": new,
                "modifications": wire,
            }
        if kind == "authenticate":
            base = self._version(op[1], self.identity)
            if base != self.identity:
                self.violation = "baseVersion"
            else:
                self.identity += 1
            return {"type": "Authenticate", "tokenType": "None", "baseVersion": base}
        if kind == "connect":
            return {
                "type": "Connect",
                "sessionId": str(uuid.uuid4()),
                "connectionCount": op[1],
                "lastCloseReason": "InitialConnect",
                "clientTs": 0,
            }
        if kind == "event":
            return {"type": "Event", "eventType": "ClientConnect", "event": {}}
        request_id, self.next_request = self.next_request, self.next_request + 1
        if kind == "mutation":
            self.mutations.append(request_id)
            return {
                "type": "Mutation",
                "requestId": request_id,
                "udfPath": "testapp:counter_inc",
                "args": [{"name": self.counter}],
            }
        self.actions.append(request_id)
        return {
            "type": "Action",
            "requestId": request_id,
            "udfPath": "testapp:plain_action",
            "args": [{"x": float(request_id)}],
        }

    def _modify(self, base: int, new: int, mods: list[tuple[str, int, int]]) -> None:
        if base != self.query_set:
            self.violation = "BaseVersionMismatch"
            return
        if new <= base:
            self.violation = "newVersion must be greater"
            return
        present = set(self.live)
        for how, qid, _ in mods:
            if how == "add":
                if qid in present:
                    self.violation = f"Duplicate query id {qid}"
                    return
                present.add(qid)
            else:
                if qid not in present:
                    self.violation = f"unknown query id {qid}"
                    return
                present.discard(qid)
        for how, qid, q in mods:
            if how == "add":
                self.live[qid] = q
            else:
                self.live.pop(qid)
        self.query_set = new

    def result_ok(self, client: RawSync, qid: int, q: int) -> bool:
        path, _ = QUERIES[q]
        if path == "testapp:nope":
            error = client.errors.get(qid)
            return error is not None and "Could not find public function" in error["errorMessage"]
        expected = {
            "testapp:ping": "pong",
            "testapp:echo": {"k": "v"},
            "testapp:counter_value": self.count or None,
        }[path]
        return qid in client.results and client.results[qid] == expected

    def settled(self, client: RawSync) -> bool:
        return (
            client.version["querySet"] == self.query_set
            and client.version["identity"] == self.identity
            and set(client.results) | set(client.errors) == set(self.live)
            and all(self.result_ok(client, qid, q) for qid, q in self.live.items())
            and all(r in client.responses for r in self.mutations + self.actions)
            and all(client.saw_writes_of(r) for r in self.mutations)
        )


async def run_sequence(harness: Harness, ops: list[tuple[Any, ...]]) -> tuple[str, str]:
    """Send the sequence; returns (what was sent, what happened) for messages."""
    model = ProtocolModel(unique("fz-seq"))
    ws = await websockets.connect(harness.server.ws_url + SYNC_PATH, max_size=None)
    client = RawSync(ws)
    sent: list[dict[str, Any]] = []
    try:
        try:
            for op in ops:
                message = model.frame(op)
                sent.append(message)
                await client.send(message)
                if model.violation is not None:
                    break
                if message["type"] == "Mutation":
                    model.count += 1
        except websockets.ConnectionClosed:
            pass
        what = "sent:\n  " + "\n  ".join(json.dumps(m) for m in sent)
        if model.violation is None:
            try:
                await client.until(lambda: model.settled(client), ANSWER_SECONDS)
            except TimeoutError:
                raise AssertionError(
                    f"the socket did not reach the model's state for {what}\n"
                    f"  model: query set {model.query_set}, identity {model.identity}, "
                    f"queries {model.live}, counter {model.count}\n"
                    f"  client: version {client.version}, results {client.results}, "
                    f"errors {client.errors}, responses {sorted(client.responses)}, "
                    f"others {client.others}\n  {await asyncio.to_thread(harness.diagnose)}"
                ) from None
            for r in model.mutations:
                response = client.responses[r]
                assert response["success"], f"{response} for {what}"
            for r in model.actions:
                response = client.responses[r]
                assert response["success"] and response["result"] == {"doubled": 2.0 * r}, (
                    f"{response} for {what}"
                )
            assert not client.others or all(m["type"] == "Ping" for m in client.others), (
                f"{client.others} for {what}"
            )
            return what, "settled"
        # the model says the last message sent breaks the protocol
        try:
            while True:
                await client.recv(ANSWER_SECONDS)
        except websockets.ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
        except TimeoutError:
            raise AssertionError(
                f"no FatalError and no close ({ANSWER_SECONDS}s) for {what}; got {client.others}"
            ) from None
        fatal = [m for m in client.others if m["type"] == "FatalError"]
        assert len(fatal) == 1, f"expected one FatalError for {what}; got {client.others}"
        assert model.violation in fatal[0]["error"], (
            f"the FatalError should say {model.violation!r} for {what}; got {fatal[0]}"
        )
        assert code in CLOSE_CODES, f"close code {code} for {what}"
        assert not [m for m in client.others if m["type"] not in ("FatalError", "Ping")], (
            f"{client.others} for {what}"
        )
        return what, "fatal"
    finally:
        await ws.close()


def test_out_of_order_sequences_match_the_model(harness: Harness) -> None:
    outcomes: collections.Counter[str] = collections.Counter()

    @fuzz_settings(fast=60, long=1500)
    @given(ops=st.lists(operation, min_size=1, max_size=8))
    def one(ops: list[tuple[Any, ...]]) -> None:
        with harness.watch.example(f"the sequence {ops}"):
            _, outcome = harness.run_with_bump(run_sequence(harness, ops))
            outcomes[outcome] += 1

    one()
    # both kinds of sequence were tried (not, say, only broken ones)
    assert outcomes["settled"] >= 5 and outcomes["fatal"] >= 5, outcomes
    harness.finish()


# --- bugs the fuzzing found (minimal reproductions) ---------------------------------------------


async def fatal_error_for(server: Any, *frames: str) -> str:
    """Send the frames on a fresh socket; the FatalError's text (the socket must close)."""
    async with websockets.connect(server.ws_url + SYNC_PATH, max_size=None) as ws:
        for frame in frames:
            await ws.send(frame)
        errors = []
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                data = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_SECONDS))
                if data["type"] == "FatalError":
                    errors.append(data["error"])
        assert len(errors) == 1, errors
        return errors[0]


@pytest.mark.parametrize(
    "frame, field_name",
    [
        ('{"type":"Connect","sessionId":"s","connectionCount":"abc"}', "connectionCount"),
        ('{"type":"Connect","sessionId":"s","connectionCount":[1]}', "connectionCount"),
        ('{"type":"Connect","sessionId":"s","connectionCount":Infinity}', "connectionCount"),
        (
            '{"type":"Connect","sessionId":"s","connectionCount":0,"maxObservedTimestamp":"!!"}',
            "maxObservedTimestamp",
        ),
        (
            '{"type":"Connect","sessionId":"s","connectionCount":0,"maxObservedTimestamp":"AAAA"}',
            "maxObservedTimestamp",
        ),
    ],
    ids=["count-string", "count-list", "count-infinity", "ts-not-base64", "ts-not-8-bytes"],
)
async def test_bad_connect_fields_get_a_protocol_error(
    asgi_server: Any, frame: str, field_name: str
) -> None:
    """Connect.connectionCount went through int() and maxObservedTimestamp through
    decode_ts() unchecked: ValueError/TypeError/OverflowError -> a traceback in the log and
    FatalError "InternalServerError" instead of a protocol error naming the field."""
    watch = ServerWatch(asgi_server)
    error = await fatal_error_for(asgi_server, frame)
    assert field_name in error, error
    watch.check(frame)


def echo_action(x: str) -> str:
    return '{"type":"Action","requestId":1,"udfPath":"testapp:echo","args":[{"x":' + x + "}]}"


@pytest.mark.parametrize(
    "frame",
    [echo_action("9" * 400), echo_action(nested(1000)), nested(100_000)],
    ids=["huge-integer-in-args", "deep-args", "deep-frame"],
)
async def test_numbers_and_nesting_beyond_limits_get_a_protocol_error(
    asgi_server: Any, frame: str
) -> None:
    """values.decode's float() raised OverflowError, and json.loads / values.decode
    RecursionError: FatalError "InternalServerError" and a traceback in the log."""
    watch = ServerWatch(asgi_server)
    error = await fatal_error_for(asgi_server, frame)
    assert error != "InternalServerError", error
    watch.check(frame[:100])


@pytest.mark.parametrize(
    "connect, request_id",
    [
        ({"sessionId": "x" * 65}, 1),  # reactive_mutation_result.session_id is varchar(64)
        ({"sessionId": "a\x00b"}, 1),  # Postgres text cannot hold NUL
        ({"sessionId": str(uuid.UUID(int=7))}, 2**63),  # request_id is a bigint
    ],
    ids=["session-id-65-chars", "session-id-with-nul", "request-id-over-int64"],
)
async def test_mutations_of_an_odd_session_get_a_clear_answer(
    asgi_server: Any, connect: dict[str, Any], request_id: int
) -> None:
    """The (sessionId, requestId) idempotency key is stored with the mutation's result: a
    sessionId over 64 characters or with a NUL, or a requestId beyond a bigint, made every
    mutation of the socket fail with the hidden "Server Error" (and a traceback), although
    Connect and the Mutation were accepted. They should be refused as protocol errors (or
    work)."""
    watch = ServerWatch(asgi_server)
    client = await RawSync.connect(asgi_server.ws_url)
    try:
        await client.send(
            {
                "type": "Connect",
                "connectionCount": 0,
                "clientTs": 0,
                "lastCloseReason": "InitialConnect",
                **connect,
            }
        )
        await client.send(
            {
                "type": "Mutation",
                "requestId": request_id,
                "udfPath": "testapp:counter_inc",
                "args": [{"name": unique("odd")}],
            }
        )
        try:
            await client.until(
                lambda: (
                    request_id in client.responses
                    or any(m["type"] == "FatalError" for m in client.others)
                )
            )
            if request_id in client.responses:
                response = client.responses[request_id]
                assert response["success"] or response["result"] != "Server Error", response
        except websockets.ConnectionClosed:
            assert any(m["type"] == "FatalError" for m in client.others), client.others
    finally:
        await client.close()
    watch.check(f"a mutation on a socket with {connect} / requestId {request_id}")


async def test_a_lone_surrogate_in_args_is_a_protocol_error(asgi_server: Any) -> None:
    """Not valid Unicode, so not a Convex string: the frame is refused, naming the field."""
    watch = ServerWatch(asgi_server)
    client = await RawSync.connect(asgi_server.ws_url)
    try:
        with pytest.raises(websockets.ConnectionClosed):
            await client.subscribe("testapp:counter_value", {"name": "a\ud800b"})
        [fatal] = [m for m in client.others if m["type"] == "FatalError"]
        assert "args.name" in fatal["error"] and "Unicode" in fatal["error"], fatal
    finally:
        await client.close()
    watch.check("a lone surrogate in args")


@pytest.mark.parametrize("text", ["a\x00b"])
async def test_strings_postgres_cannot_hold_get_a_clear_error(asgi_server: Any, text: str) -> None:
    """A NUL in a string that reaches Postgres (a query's filter, a mutation's insert): was
    "Server Error" (QueryFailed / MutationResponse) and a traceback."""
    watch = ServerWatch(asgi_server)
    client = await RawSync.connect(asgi_server.ws_url)
    try:
        qid = await client.subscribe("testapp:counter_value", {"name": text})
        if qid in client.errors:
            assert client.errors[qid]["errorMessage"] != "Server Error", client.errors[qid]
        response = await client.call("Mutation", "testapp:create_channel", {"name": text})
        assert response["success"] or response["result"] != "Server Error", response
    finally:
        await client.close()
    watch.check(f"a string {text!r} sent to Postgres")


async def test_nothing_is_sent_after_a_fatal_error_and_no_race_is_logged(asgi_server: Any) -> None:
    """A FatalError while a MutationResponse or the Transition owed after a mutation is on
    its way: the consumer's `_send` checks `_closing` before awaiting the send, and `_fatal`
    sets it only after its own send, so (a) a MutationResponse can follow the FatalError, and
    (b) a Transition sent after `_close()` raised autobahn's `Disconnected` ("Attempt to send
    on a closed protocol"), logged as ERROR "a socket task failed" with a traceback (then
    `_guarded` tried to send another FatalError). A race: up to 30 tries."""
    watch = ServerWatch(asgi_server)
    for i in range(30):
        async with websockets.connect(asgi_server.ws_url + SYNC_PATH) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "Mutation",
                        "requestId": 0,
                        "udfPath": "testapp:counter_inc",
                        "args": [{"name": unique("race")}],
                    }
                )
            )
            if i % 2:  # the owed Transition is in flight when the bad frame arrives
                while json.loads(await ws.recv())["type"] != "MutationResponse":
                    pass
            await ws.send("not json")
            received = []
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    received.append(json.loads(await asyncio.wait_for(ws.recv(), ANSWER_SECONDS)))
            kinds = [m["type"] for m in received]
            assert "FatalError" in kinds and kinds[-1] == "FatalError", kinds
    await asyncio.sleep(0.3)
    watch.check("FatalErrors racing a mutation's response and Transition")
