"""A strict, minimal client of the sync protocol for tests (raw frames over a real socket).

It checks what the official clients check (every Transition starts where the last ended) and
keeps the latest result of each query, so tests can wait for a condition on them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import websockets

from reactive.sync.protocol import decode_ts, encode_ts
from reactive.values import decode


class ProtocolViolation(AssertionError):
    pass


class RawSync:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.version = {"querySet": 0, "identity": 0, "ts": 0}
        self.query_set = 0
        self.results: dict[int, Any] = {}
        self.errors: dict[int, dict[str, Any]] = {}
        self.journals: dict[int, Any] = {}
        self.transitions: list[dict[str, Any]] = []
        self.responses: dict[int, dict[str, Any]] = {}
        self.arrived: dict[int, int] = {}  # request id -> Transitions received before it
        self.others: list[dict[str, Any]] = []
        self.next_query = 0
        self.next_request = 0
        self.session_id = str(uuid.uuid4())

    @classmethod
    async def connect(
        cls,
        base_ws_url: str,
        *,
        path: str = "/api/1.48.0/sync",
        session_id: str | None = None,
        connection_count: int = 0,
        max_observed_ts: int | None = None,
        **kwargs: Any,
    ) -> RawSync:
        ws = await websockets.connect(base_ws_url + path, max_size=None, **kwargs)
        client = cls(ws)
        if session_id:
            client.session_id = session_id
        connect = {
            "type": "Connect",
            "sessionId": client.session_id,
            "connectionCount": connection_count,
            "lastCloseReason": "InitialConnect",
            "clientTs": 0,
        }
        if max_observed_ts is not None:
            connect["maxObservedTimestamp"] = encode_ts(max_observed_ts)
        await client.send(connect)
        return client

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if message["type"] == "Transition":
            self._apply(message)
        elif message["type"] in ("MutationResponse", "ActionResponse"):
            self.responses[message["requestId"]] = message
            self.arrived[message["requestId"]] = len(self.transitions)
        else:
            self.others.append(message)
        return message

    def _apply(self, t: dict[str, Any]) -> None:
        start = {**t["startVersion"], "ts": decode_ts(t["startVersion"]["ts"])}
        if start != self.version:
            raise ProtocolViolation(f"Transition starts at {start}, client is at {self.version}")
        end = {**t["endVersion"], "ts": decode_ts(t["endVersion"]["ts"])}
        if end["ts"] < self.version["ts"]:
            raise ProtocolViolation("Transition ts went backwards")
        for mod in t["modifications"]:
            qid = mod["queryId"]
            if mod["type"] == "QueryUpdated":
                assert "logLines" in mod and "value" in mod
                self.results[qid] = decode(mod["value"])
                self.errors.pop(qid, None)
                self.journals[qid] = mod.get("journal")
            elif mod["type"] == "QueryFailed":
                assert "logLines" in mod
                self.errors[qid] = mod
                self.results.pop(qid, None)
            elif mod["type"] == "QueryRemoved":
                self.results.pop(qid, None)
                self.errors.pop(qid, None)
        self.version = end
        self.transitions.append(t)

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"condition not met; results={self.results} "
                    f"errors={self.errors} others={self.others}"
                )
            await self.recv(remaining)

    async def modify(self, modifications: list[dict[str, Any]]) -> None:
        base, self.query_set = self.query_set, self.query_set + 1
        await self.send(
            {
                "type": "ModifyQuerySet",
                "baseVersion": base,
                "newVersion": self.query_set,
                "modifications": modifications,
            }
        )

    async def subscribe(
        self,
        path: str,
        args: dict[str, Any] | None = None,
        journal: str | None = None,
        wait: bool = True,
    ) -> int:
        qid, self.next_query = self.next_query, self.next_query + 1
        add: dict[str, Any] = {"type": "Add", "queryId": qid, "udfPath": path, "args": [args or {}]}
        if journal is not None:
            add["journal"] = journal
        await self.modify([add])
        if wait:
            await self.until(lambda: qid in self.results or qid in self.errors)
        return qid

    async def unsubscribe(self, qid: int) -> None:
        await self.modify([{"type": "Remove", "queryId": qid}])

    async def call(
        self,
        kind: str,
        path: str,
        args: dict[str, Any] | None = None,
        request_id: int | None = None,
    ) -> dict[str, Any]:
        """Send a Mutation or Action; for a successful mutation, also wait for its Transition."""
        if request_id is None:
            request_id, self.next_request = self.next_request, self.next_request + 1
        await self.send(
            {"type": kind, "requestId": request_id, "udfPath": path, "args": [args or {}]}
        )
        await self.until(lambda: request_id in self.responses)
        response = self.responses[request_id]
        if kind == "Mutation" and response["success"]:
            await self.until(lambda: self.saw_writes_of(request_id))
        return response

    def saw_writes_of(self, request_id: int) -> bool:
        """Read-your-writes: a Transition at ts >= the mutation's came after its response."""
        ts = decode_ts(self.responses[request_id]["ts"])
        return any(
            decode_ts(t["endVersion"]["ts"]) >= ts
            for t in self.transitions[self.arrived[request_id] :]
        )

    async def mutation(self, path: str, args: dict[str, Any] | None = None) -> Any:
        response = await self.call("Mutation", path, args)
        if not response["success"]:
            raise AssertionError(response["result"])
        return decode(response["result"])
