"""A model-based (hypothesis stateful) test of the sync engine against a live server.

Random interleavings of subscribes, unsubscribes, query-set edits (several Adds and Removes in
one ModifyQuerySet, a query id reused for another query), reconnects, mutations from several
sockets and over HTTP, concurrent bursts of them, and writes from outside the executor (ORM
update/insert/delete, `F()` increments, raw SQL, a message moved between channels). The keys are
few and new in each example (three counters, two channels, plus the global `messages:latest`),
so subscriptions overlap: the same query is held by several sockets and a socket holds several
queries.

Checked:

- after every step: no socket got a QueryFailed or any FatalError, and every Transition started
  where the last one ended (`RawSync` raises `ProtocolViolation` itself);
- read-your-writes: right after a socket's own mutation (the Transition at its ts has arrived),
  every query that socket holds equals a fresh run of it;
- consistency at quiescence (a rule, and the teardown): every socket's last Transition reached
  its last query-set version, its result set is exactly its query set, each result equals a
  fresh run of its query over `POST /api/query`, and the fresh runs agree with a Python model of
  the rows; at the teardown the results also stay put.

Fast in the normal run; `REACTIVE_LONG=1` runs many more and longer examples.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import requests
from django.db import connection, connections
from django.db.models import F
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from reactive import ids
from reactive.values import decode
from tests.reliability.length import scaled
from tests.sync_client import RawSync
from tests.testapp.models import Channel, Counter, Message

pytestmark = pytest.mark.django_db(transaction=True)

SOCKETS = 3
COUNTERS = 3
CHANNELS = 2
MAX_HELD = 16  # per socket; the server's limit (64) is not what this test is about
CONVERGE_SECONDS = 8.0  # the listener polls the change log every second anyway


def orm_in_thread(fn: Any) -> Any:
    """For writes made concurrently from a worker thread: close its connection afterwards."""

    def run() -> Any:
        try:
            return fn()
        finally:
            connections.close_all()

    return asyncio.to_thread(run)


# A query of the catalog: ("counter", i), ("list", j) or ("latest", 0).
QUERY_KEYS = (
    [("counter", i) for i in range(COUNTERS)]
    + [("list", j) for j in range(CHANNELS)]
    + [("latest", 0)]
)

socket_ix = st.integers(0, SOCKETS - 1)
counter_ix = st.integers(0, COUNTERS - 1)
channel_ix = st.integers(0, CHANNELS - 1)
query_key = st.sampled_from(QUERY_KEYS)
pick = st.integers(0, 1_000)  # an index into whatever list is there, modulo its length

burst_op = st.one_of(
    st.tuples(st.just("ws"), socket_ix, st.just("inc"), counter_ix),
    st.tuples(st.just("ws"), socket_ix, st.just("send"), channel_ix),
    st.tuples(st.just("http"), st.just(0), st.just("inc"), counter_ix),
    st.tuples(st.just("http"), st.just(0), st.just("send"), channel_ix),
    st.tuples(st.just("orm"), st.just(0), st.just("inc"), counter_ix),
    st.tuples(st.just("orm"), st.just(0), st.just("insert"), channel_ix),
)


class SyncModel(RuleBasedStateMachine):
    server: Any = None  # the LiveServer, set by the test

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.run_id = uuid.uuid4().hex[:8]
        self.body_seq = 0
        # the model of the rows: counter name -> value (absent: no row); channel -> bodies
        self.counter_names = [f"m-{self.run_id}-c{i}" for i in range(COUNTERS)]
        self.counters: dict[str, int] = {}
        self.channels = [
            Channel.objects.create(name=f"m-{self.run_id}-ch{j}") for j in range(CHANNELS)
        ]
        self.channel_ids = [ids.encode_id("channels", c.pk) for c in self.channels]
        self.messages: list[list[str]] = [[] for _ in range(CHANNELS)]
        self.socks: list[RawSync] = []  # filled below; the teardown closes them
        self.held: list[dict[int, tuple[str, int]]] = []  # per socket: query id -> query key
        self.added_at: list[dict[int, int]] = []  # per socket: query id -> query-set version
        self.checked: list[int] = []  # per socket: Transitions already checked for failures
        try:
            for _ in range(SOCKETS):
                self._new_socket()
        except BaseException:
            self.close()
            raise

    # -- plumbing -------------------------------------------------------------------------
    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def _new_socket(self, index: int | None = None) -> None:
        sock = self.run(RawSync.connect(self.server.ws_url))
        if index is None:
            self.socks.append(sock)
            self.held.append({})
            self.added_at.append({})
            self.checked.append(0)
        else:
            self.socks[index], self.held[index], self.checked[index] = sock, {}, 0
            self.added_at[index] = {}

    def body(self) -> str:
        self.body_seq += 1
        return f"b{self.body_seq}-{self.run_id}"

    def path_args(self, key: tuple[str, int]) -> tuple[str, dict[str, Any]]:
        kind, i = key
        if kind == "counter":
            return "testapp:counter_value", {"name": self.counter_names[i]}
        if kind == "list":
            return "testapp/messages:list", {"channel": self.channel_ids[i]}
        return "testapp/messages:latest", {}

    def add_message(self, key: tuple[str, int], qid: int) -> dict[str, Any]:
        path, args = self.path_args(key)
        return {"type": "Add", "queryId": qid, "udfPath": path, "args": [args]}

    def fresh(self, key: tuple[str, int]) -> Any:
        """A fresh run of the query over HTTP, checked against the model where it has one."""
        path, args = self.path_args(key)
        r = requests.post(
            self.server.url + "/api/query", json={"path": path, "args": args}, timeout=30
        )
        body = r.json()
        assert body.get("status") == "success", (r.status_code, body)
        value = decode(body["value"])
        kind, i = key
        if kind == "counter":
            assert value == self.counters.get(self.counter_names[i]), (
                f"counter {i}: the database says {value}, the model "
                f"{self.counters.get(self.counter_names[i])}"
            )
        elif kind == "list":
            assert sorted(m["body"] for m in value) == sorted(self.messages[i]), (
                f"channel {i}: the database has {sorted(m['body'] for m in value)}, the model "
                f"{sorted(self.messages[i])}"
            )
        return value

    def http_mutation(self, path: str, args: dict[str, Any]) -> Any:
        r = requests.post(
            self.server.url + "/api/mutation", json={"path": path, "args": args}, timeout=30
        )
        body = r.json()
        assert body.get("status") == "success", (r.status_code, body)
        return decode(body["value"])

    def wanted(self, expected: dict[tuple[str, int], Any], i: int) -> dict[int, Any]:
        return {qid: expected[key] for qid, key in self.held[i].items()}

    async def _converge(self, expected: dict[tuple[str, int], Any]) -> None:
        deadline = self.loop.time() + CONVERGE_SECONDS
        for i, sock in enumerate(self.socks):
            want = self.wanted(expected, i)

            def done(sock: RawSync = sock, want: dict[int, Any] = want) -> bool:
                # every ModifyQuerySet answered, and every result current
                return sock.version["querySet"] == sock.query_set and sock.results == want

            try:
                await sock.until(done, max(0.1, deadline - self.loop.time()))
            except TimeoutError:
                wrong = {
                    q: (sock.results.get(q, "<nothing>"), v)
                    for q, v in want.items()
                    if sock.results.get(q, "<nothing>") != v
                }
                raise AssertionError(
                    f"socket {i} did not converge in {CONVERGE_SECONDS}s:\n"
                    f"  query set version {sock.version['querySet']} of {sock.query_set}\n"
                    f"  held {self.held[i]}\n"
                    f"  results of queries not held (QueryRemoved missing): "
                    f"{ {q: v for q, v in sock.results.items() if q not in want} }\n"
                    f"  wrong results (has, should be): {wrong}\n"
                    f"  errors {sock.errors}"
                ) from None

    def converge(self) -> dict[tuple[str, int], Any]:
        keys = {key for held in self.held for key in held.values()}
        expected = {key: self.fresh(key) for key in keys}
        self.run(self._converge(expected))
        return expected

    def held_as(self, i: int, qid: int, key: tuple[str, int]) -> None:
        """Socket i's last ModifyQuerySet made `qid` the query `key`."""
        self.held[i][qid] = key
        self.added_at[i][qid] = self.socks[i].query_set

    def check_now(self, i: int) -> None:
        """Read-your-writes: after socket i's own mutation, every query it holds in the query
        set its last Transition reached is current (newer Adds may still be loading, as in
        Convex's clients)."""
        sock = self.socks[i]
        for qid, key in self.held[i].items():
            if self.added_at[i][qid] > sock.version["querySet"]:
                continue
            value = self.fresh(key)
            assert qid in sock.results and sock.results[qid] == value, (
                f"socket {i} query {qid} {key} right after its own mutation: has "
                f"{sock.results.get(qid, '<nothing>')}, a fresh run gives {value}"
            )

    # -- subscriptions --------------------------------------------------------------------
    @initialize()
    def overlapping_subscriptions(self) -> None:
        # the same query on every socket, and one socket holding every query
        for i in range(SOCKETS):
            qid = self.run(self.socks[i].subscribe(*self.path_args(("counter", 0))))
            self.held_as(i, qid, ("counter", 0))
        for key in QUERY_KEYS:
            qid = self.run(self.socks[0].subscribe(*self.path_args(key)))
            self.held_as(0, qid, key)

    @rule(i=socket_ix, key=query_key, wait=st.booleans())
    def subscribe(self, i: int, key: tuple[str, int], wait: bool) -> None:
        if len(self.held[i]) >= MAX_HELD:
            return
        qid = self.run(self.socks[i].subscribe(*self.path_args(key), wait=wait))
        self.held_as(i, qid, key)

    @rule(i=socket_ix, n=pick)
    def unsubscribe(self, i: int, n: int) -> None:
        if not self.held[i]:
            return
        qid = sorted(self.held[i])[n % len(self.held[i])]
        del self.held[i][qid], self.added_at[i][qid]
        self.run(self.socks[i].unsubscribe(qid))

    @rule(i=socket_ix, adds=st.lists(query_key, max_size=3), removes=st.lists(pick, max_size=3))
    def modify_query_set(self, i: int, adds: list[tuple[str, int]], removes: list[int]) -> None:
        """Several Adds and Removes in one ModifyQuerySet."""
        sock, held = self.socks[i], self.held[i]
        gone: list[int] = []
        for n in removes:
            left = sorted(set(held) - set(gone))
            if left:
                gone.append(left[n % len(left)])
        adds = adds[: max(0, MAX_HELD - len(held) + len(gone))]
        mods = [{"type": "Remove", "queryId": qid} for qid in gone]
        added = []
        for key in adds:
            qid, sock.next_query = sock.next_query, sock.next_query + 1
            mods.append(self.add_message(key, qid))
            added.append((qid, key))
        if not mods:
            return
        self.run(sock.modify(mods))
        for qid in gone:
            del held[qid], self.added_at[i][qid]
        for qid, key in added:
            self.held_as(i, qid, key)

    @rule(i=socket_ix, n=pick, key=query_key)
    def reuse_query_id(self, i: int, n: int, key: tuple[str, int]) -> None:
        """Remove a query and Add another under the same id, in one ModifyQuerySet."""
        if not self.held[i]:
            return
        qid = sorted(self.held[i])[n % len(self.held[i])]
        self.run(
            self.socks[i].modify([{"type": "Remove", "queryId": qid}, self.add_message(key, qid)])
        )
        self.held_as(i, qid, key)

    @rule(i=socket_ix)
    def reconnect(self, i: int) -> None:
        """Close a socket (its subscriptions go, others' identical ones must not) and open a
        fresh one in its place."""
        self.run(self.socks[i].close())
        self._new_socket(i)

    # -- mutations ------------------------------------------------------------------------
    @rule(i=socket_ix, c=counter_ix)
    def ws_counter_inc(self, i: int, c: int) -> None:
        name = self.counter_names[c]
        value = self.run(self.socks[i].mutation("testapp:counter_inc", {"name": name}))
        self.counters[name] = self.counters.get(name, 0) + 1
        assert value == self.counters[name]
        self.check_now(i)

    @rule(i=socket_ix, ch=channel_ix)
    def ws_send(self, i: int, ch: int) -> None:
        body = self.body()
        self.run(
            self.socks[i].mutation(
                "testapp/messages:send", {"channel": self.channel_ids[ch], "body": body}
            )
        )
        self.messages[ch].append(body)
        self.check_now(i)

    @rule(c=counter_ix)
    def http_counter_inc(self, c: int) -> None:
        name = self.counter_names[c]
        value = self.http_mutation("testapp:counter_inc", {"name": name})
        self.counters[name] = self.counters.get(name, 0) + 1
        assert value == self.counters[name]

    @rule(ch=channel_ix)
    def http_send(self, ch: int) -> None:
        body = self.body()
        self.http_mutation("testapp/messages:send", {"channel": self.channel_ids[ch], "body": body})
        self.messages[ch].append(body)

    @rule(ops=st.lists(burst_op, min_size=2, max_size=6))
    def concurrent_burst(self, ops: list[tuple[str, int, str, int]]) -> None:
        """Mutations from several sockets, HTTP and ORM writes, all at once."""
        existing = set(self.counters)  # an ORM increment of a row being inserted is a race
        busy: set[int] = set()  # one call in flight per socket (RawSync reads one at a time)
        plan: list[tuple[str, int, str, int, str]] = []
        for source, i, what, target in ops:
            if source == "ws":
                if i in busy:
                    continue
                busy.add(i)
            if source == "orm" and what == "inc" and self.counter_names[target] not in existing:
                continue
            plan.append((source, i, what, target, self.body()))

        async def one(source: str, i: int, what: str, target: int, body: str) -> bool:
            name, cid = self.counter_names[target % COUNTERS], self.channel_ids[target % CHANNELS]
            path, args = (
                ("testapp:counter_inc", {"name": name})
                if what == "inc"
                else ("testapp/messages:send", {"channel": cid, "body": body})
            )
            if source == "ws":
                response = await self.socks[i].call("Mutation", path, args)
                return bool(response["success"])
            if source == "http":
                r = await asyncio.to_thread(
                    requests.post,
                    self.server.url + "/api/mutation",
                    json={"path": path, "args": args},
                    timeout=30,
                )
                return r.json().get("status") == "success"
            if what == "inc":
                await orm_in_thread(
                    lambda: Counter.objects.filter(name=name).update(value=F("value") + 1)
                )
            else:
                channel = self.channels[target % CHANNELS]
                await orm_in_thread(
                    lambda: Message.objects.create(channel=channel, author="orm", body=body)
                )
            return True

        async def all_of() -> list[bool]:
            return list(await asyncio.gather(*(one(*p) for p in plan)))

        for (_source, _i, what, target, body), ok in zip(plan, self.run(all_of()), strict=True):
            if not ok:  # a failed mutation wrote nothing (the conflict retries ran out)
                continue
            if what == "inc":
                name = self.counter_names[target]
                self.counters[name] = self.counters.get(name, 0) + 1
            else:
                self.messages[target].append(body)

    # -- writes from outside the executor -------------------------------------------------
    @rule(c=counter_ix, value=st.integers(-5, 50))
    def orm_set_counter(self, c: int, value: int) -> None:
        """Insert the row (Model.save()) if it is absent, else QuerySet.update()."""
        name = self.counter_names[c]
        if name in self.counters:
            Counter.objects.filter(name=name).update(value=value)
        else:
            Counter(name=name, value=value).save()
        self.counters[name] = value

    @rule(c=counter_ix)
    def orm_delete_counter(self, c: int) -> None:
        name = self.counter_names[c]
        Counter.objects.filter(name=name).delete()
        self.counters.pop(name, None)

    @rule(c=counter_ix)
    def raw_sql_increment(self, c: int) -> None:
        name = self.counter_names[c]
        with connection.cursor() as cursor:
            cursor.execute("UPDATE testapp_counter SET value = value + 10 WHERE name = %s", [name])
        if name in self.counters:
            self.counters[name] += 10

    @rule(ch=channel_ix, n=st.integers(1, 3))
    def orm_bulk_insert(self, ch: int, n: int) -> None:
        bodies = [self.body() for _ in range(n)]
        Message.objects.bulk_create(
            [Message(channel=self.channels[ch], author="bulk", body=b) for b in bodies]
        )
        self.messages[ch].extend(bodies)

    @rule(ch=channel_ix, n=pick)
    def orm_update_body(self, ch: int, n: int) -> None:
        if not self.messages[ch]:
            return
        old, new = self.messages[ch][n % len(self.messages[ch])], self.body()
        Message.objects.filter(body=old).update(body=new)
        self.messages[ch][self.messages[ch].index(old)] = new

    @rule(ch=channel_ix, n=pick)
    def orm_move_message(self, ch: int, n: int) -> None:
        """Change an indexed field: the row leaves one channel's range for the other's."""
        if not self.messages[ch]:
            return
        body = self.messages[ch][n % len(self.messages[ch])]
        other = (ch + 1) % CHANNELS
        message = Message.objects.get(body=body)
        message.channel = self.channels[other]
        message.save()
        self.messages[ch].remove(body)
        self.messages[other].append(body)

    @rule(ch=channel_ix, n=pick)
    def orm_delete_message(self, ch: int, n: int) -> None:
        if not self.messages[ch]:
            return
        body = self.messages[ch][n % len(self.messages[ch])]
        Message.objects.filter(body=body).delete()
        self.messages[ch].remove(body)

    # -- checks ---------------------------------------------------------------------------
    @rule()
    def quiescence(self) -> None:
        self.converge()

    @invariant()
    def nothing_failed(self) -> None:
        for i, sock in enumerate(self.socks):
            for t in sock.transitions[self.checked[i] :]:
                failed = [m for m in t["modifications"] if m["type"] == "QueryFailed"]
                assert not failed, f"socket {i} got QueryFailed: {failed}"
            self.checked[i] = len(sock.transitions)
            assert not sock.errors, f"socket {i}: {sock.errors}"
            bad = [m for m in sock.others if m["type"] not in ("Ping",)]
            assert not bad, f"socket {i} got {bad}"

    def teardown(self) -> None:
        try:
            if self.socks:
                expected = self.converge()

                async def drain(sock: RawSync) -> None:
                    try:
                        while True:
                            await sock.recv(0.2)
                    except TimeoutError:
                        pass

                async def drain_all() -> None:
                    await asyncio.gather(*(drain(s) for s in self.socks))

                self.run(drain_all())
                for i, sock in enumerate(self.socks):
                    assert sock.results == self.wanted(expected, i), (
                        f"socket {i} changed after quiescence: {sock.results}"
                    )
                self.nothing_failed()
        finally:
            self.close()

    def close(self) -> None:
        for sock in self.socks:
            try:
                self.run(sock.close())
            except Exception:
                pass
        self.run(self.loop.shutdown_asyncgens())
        self.run(self.loop.shutdown_default_executor())
        self.loop.close()


def test_sync_engine_matches_model(asgi_server):
    SyncModel.server = asgi_server
    try:
        run_state_machine_as_test(
            SyncModel,
            settings=settings(
                max_examples=scaled(10, 150),
                stateful_step_count=scaled(30, 60),
                derandomize=True,
                database=None,
                deadline=None,
                print_blob=False,
                report_multiple_bugs=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        SyncModel.server = None
