"""The official PyPI `convex` 0.8.1 WebSocket client (`convex.ConvexClient`) on a live server.

`ConvexClient(url)` is the Rust client (convex-rs 0.10.4) behind pyo3: it connects to
ws://host/api/sync and speaks the sync protocol; `query()` is subscribe + first result +
unsubscribe. Its blocking calls (query, mutation, action, `next()` on a subscription) hold the GIL
while they wait, so a thread cannot time-box them; they do run Python signal handlers about once
a second, so every blocking call here runs under a SIGALRM deadline that raises `Deadline` into
it. Nothing can hang: a server that never answers fails the test after `DEADLINE` seconds.

The basic checks (query, mutation with read-your-writes, subscriptions updated by other clients)
run against daphne and uvicorn; the rest against daphne (the session's `asgi_server`).
"""

from __future__ import annotations

import gc
import signal
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from convex import ConvexClient, ConvexError, ConvexInt64, QuerySubscription

from tests.conftest import LiveServer

# The live server commits to pytest-django's test database, which pytest-django (4.14) only
# creates when a collected test asks for database access: without this mark, running these tests
# alone would point the server at the development database.
pytestmark = [pytest.mark.interop, pytest.mark.django_db]

# Seconds any single blocking call may take (the Rust client checks signals once a second).
DEADLINE = 6.0


class Deadline(Exception):
    """Raised by the SIGALRM handler into a blocking call of the Rust client."""


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    assert threading.current_thread() is threading.main_thread(), "SIGALRM needs the main thread"

    def expire(signum: int, frame: Any) -> None:
        raise Deadline(f"{what}: no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Sync:
    """Official clients on one server, every blocking call time-boxed; closed at teardown."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.clients: list[ConvexClient] = []
        self.subscriptions: list[QuerySubscription] = []

    def client(self) -> ConvexClient:
        client = ConvexClient(self.server.url)
        self.clients.append(client)
        return client

    def call(self, what: str, fn: Callable[..., Any], *args: Any, hint: str = "") -> Any:
        try:
            with deadline(DEADLINE, what):
                return fn(*args)
        except Deadline as exc:
            pytest.fail(f"{exc}{hint}\n--- server log ---\n{self.server.log()[-6000:]}")

    def subscribe(
        self, client: ConvexClient, name: str, args: dict[str, Any] | None = None
    ) -> Watch:
        sub = self.call(f"subscribe({name!r})", client.subscribe, name, args)
        self.subscriptions.append(sub)
        return Watch(self, sub, name)

    def close(self) -> None:
        """ConvexClient has no close(): dropping the last reference to the Rust client (the
        subscriptions hold one too) stops its worker and closes the socket."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `logging.warn` in a subscription broken by Deadline
            for sub in self.subscriptions:
                with suppress(Exception):
                    sub.unsubscribe()
        self.subscriptions.clear()
        self.clients.clear()
        gc.collect()


class Watch:
    """A subscription, iterated under a deadline."""

    def __init__(self, sync: Sync, sub: QuerySubscription, name: str) -> None:
        self.sync, self.sub, self.name = sync, sub, name
        self.values: list[Any] = []

    def until(self, predicate: Callable[[Any], bool], what: str) -> Any:
        """The first value the subscription yields for which `predicate` holds."""
        try:
            with deadline(DEADLINE, f"subscription {self.name} waiting for {what}"):
                for value in self.sub:
                    self.values.append(value)
                    if predicate(value):
                        return value
        except Deadline as exc:
            pytest.fail(
                f"{exc}; values so far: {self.values!r}\n--- server log ---\n"
                f"{self.sync.server.log()[-6000:]}"
            )
        pytest.fail(f"subscription {self.name} ended; values so far: {self.values!r}")

    def error(self, what: str) -> BaseException:
        """The error the subscription's next result raises."""
        try:
            with deadline(DEADLINE, f"subscription {self.name} waiting for {what}"):
                value = next(iter(self.sub))
        except Deadline as exc:
            pytest.fail(f"{exc}\n--- server log ---\n{self.sync.server.log()[-6000:]}")
        except Exception as exc:  # noqa: BLE001 - the error is the result
            return exc
        pytest.fail(f"subscription {self.name}: expected an error, got the value {value!r}")


@pytest.fixture
def sync(asgi_server: LiveServer) -> Iterator[Sync]:
    s = Sync(asgi_server)
    yield s
    s.close()


@pytest.fixture
def any_sync(any_server: LiveServer) -> Iterator[Sync]:
    s = Sync(any_server)
    yield s
    s.close()


def _new_channel(sync: Sync, client: ConvexClient, prefix: str) -> str:
    channel = sync.call(
        "mutation testapp:create_channel",
        client.mutation,
        "testapp:create_channel",
        {"name": _unique(prefix)},
    )
    assert isinstance(channel, str) and channel, channel
    return channel


# -- query, mutation, subscriptions: daphne and uvicorn -------------------------------------------


def test_query(any_sync: Sync) -> None:
    client = any_sync.client()
    assert any_sync.call("query testapp:ping", client.query, "testapp:ping") == "pong"
    assert any_sync.call("query testapp", client.query, "testapp") == "default export"
    assert any_sync.call(
        "query testapp:echo",
        client.query,
        "testapp:echo",
        {"a": "x", "n": 2, "nested": {"l": [1, None, True]}},
    ) == {"a": "x", "n": 2.0, "nested": {"l": [1.0, None, True]}}


def test_mutation_then_read_your_writes(any_sync: Sync) -> None:
    """`mutation()` returns only once a Transition covering it arrived; a query afterwards on
    the same client sees the write."""
    client = any_sync.client()
    channel = _new_channel(any_sync, client, "py-sync-ryw")
    ids = []
    for i in range(3):
        message = any_sync.call(
            f"mutation {i}",
            client.mutation,
            "testapp/messages:send",
            {"channel": channel, "body": f"ryw {i}", "author": "py"},
        )
        assert isinstance(message, str) and message and message != channel
        ids.append(message)
        rows = any_sync.call(
            "query testapp/messages:list",
            client.query,
            "testapp/messages:list",
            {"channel": channel},
        )
        assert [row["_id"] for row in rows] == ids, rows
    row = rows[-1]
    assert row["body"] == "ryw 2" and row["author"] == "py" and row["channel"] == channel
    assert isinstance(row["_creationTime"], float) and row["_creationTime"] > 1.5e12


def test_subscription_sees_own_mutation(any_sync: Sync) -> None:
    client = any_sync.client()
    channel = _new_channel(any_sync, client, "py-sync-own")
    watch = any_sync.subscribe(client, "testapp/messages:list", {"channel": channel})
    assert watch.until(lambda v: True, "the first result") == []
    message = any_sync.call(
        "mutation testapp/messages:send",
        client.mutation,
        "testapp/messages:send",
        {"channel": channel, "body": "own"},
    )
    rows = watch.until(lambda v: len(v) > 0, "the client's own write")
    assert [(row["_id"], row["body"]) for row in rows] == [(message, "own")]


def test_subscription_sees_http_mutation(any_sync: Sync) -> None:
    client = any_sync.client()
    channel = _new_channel(any_sync, client, "py-sync-http")
    watch = any_sync.subscribe(client, "testapp/messages:list", {"channel": channel})
    assert watch.until(lambda v: True, "the first result") == []
    response = any_sync.server.post(
        "/api/mutation",
        {"path": "testapp/messages:send", "args": {"channel": channel, "body": "via http"}},
    )
    assert response.status_code == 200 and response.json()["status"] == "success", response.text
    rows = watch.until(lambda v: len(v) > 0, "the HTTP API's write")
    assert [(row["_id"], row["body"]) for row in rows] == [(response.json()["value"], "via http")]


def test_subscription_sees_other_client(any_sync: Sync) -> None:
    alice, bob = any_sync.client(), any_sync.client()
    channel = _new_channel(any_sync, alice, "py-sync-other")
    watch = any_sync.subscribe(alice, "testapp/messages:list", {"channel": channel})
    assert watch.until(lambda v: True, "the first result") == []
    first = any_sync.call(
        "bob's mutation",
        bob.mutation,
        "testapp/messages:send",
        {"channel": channel, "body": "from bob", "author": "bob"},
    )
    rows = watch.until(lambda v: len(v) == 1, "bob's first write")
    assert [(row["_id"], row["body"], row["author"]) for row in rows] == [
        (first, "from bob", "bob")
    ]
    second = any_sync.call(
        "bob's second mutation",
        bob.mutation,
        "testapp/messages:send",
        {"channel": channel, "body": "again", "author": "bob"},
    )
    rows = watch.until(lambda v: len(v) == 2, "bob's second write")
    assert [row["_id"] for row in rows] == [first, second]


# -- the rest: daphne ---------------------------------------------------------------------------


def test_action(sync: Sync) -> None:
    client = sync.client()
    assert sync.call("action", client.action, "testapp:plain_action", {"x": 21}) == {
        "doubled": 42.0
    }
    assert sync.call("action", client.action, "testapp:plain_action") == {"doubled": 2.0}


def test_int64_over_websocket(sync: Sync) -> None:
    client = sync.client()
    big = sync.call("query testapp:big_int", client.query, "testapp:big_int")
    assert big == {"i": ConvexInt64(2**62), "neg": ConvexInt64(-1), "f": 1.5, "n": 3.0}
    assert isinstance(big["i"], ConvexInt64)
    echoed = sync.call(
        "query testapp:echo",
        client.query,
        "testapp:echo",
        {"i": ConvexInt64(-(2**63)), "b": b"\x00\xff"},
    )
    assert echoed == {"i": ConvexInt64(-(2**63)), "b": b"\x00\xff"}


def test_query_convex_error(sync: Sync) -> None:
    client = sync.client()
    with pytest.raises(ConvexError) as info:
        sync.call("query testapp:fail_convex", client.query, "testapp:fail_convex")
    assert info.value.data == {"code": "NOPE", "n": ConvexInt64(7)}
    with pytest.raises(ConvexError) as info:
        sync.call("query testapp:fail_convex_string", client.query, "testapp:fail_convex_string")
    assert info.value.data == "plain message"
    # The socket is still usable.
    assert sync.call("query testapp:ping", client.query, "testapp:ping") == "pong"


def test_subscription_convex_error(sync: Sync) -> None:
    client = sync.client()
    error = sync.subscribe(client, "testapp:fail_convex").error("QueryFailed")
    assert isinstance(error, ConvexError), repr(error)
    assert error.data == {"code": "NOPE", "n": ConvexInt64(7)}


def test_mutation_convex_error(sync: Sync) -> None:
    """A mutation failing with a ConvexError raises it, and nothing is written.

    The Rust client completes a *failed* mutation at once only for a plain error message; one
    failing with a ConvexError (`errorData`) completes at the next Transition, like a success
    (convex-rs `RequestManager::update_request`). The backend sends a Transition after every
    mutation, failed or not (`schedule_update()` in `crates/sync/src/worker.rs`)."""
    client = sync.client()
    name = _unique("py-sync-rollback")
    with pytest.raises(ConvexError) as info:
        sync.call(
            "mutation testapp:write_then_fail (ConvexError)",
            client.mutation,
            "testapp:write_then_fail",
            {"name": name},
            hint=" (the client waits for a Transition after a MutationResponse with "
            "errorData; the server sent none)",
        )
    assert info.value.data == {"code": "ROLLED_BACK"}
    assert name not in sync.call(
        "query testapp:channel_names", client.query, "testapp:channel_names"
    )


def test_plain_errors(sync: Sync) -> None:
    client = sync.client()
    with pytest.raises(Exception, match="Could not find public function") as info:
        sync.call("query testapp:no_such_function", client.query, "testapp:no_such_function")
    assert not isinstance(info.value, ConvexError)
    with pytest.raises(Exception, match="Could not find public function") as info:
        sync.call("query testapp:secret", client.query, "testapp:secret")
    assert "internal only" not in str(info.value)
    with pytest.raises(Exception, match="Could not find public function"):
        sync.call("mutation nosuchmodule:fn", client.mutation, "nosuchmodule:fn", {"a": 1})
    with pytest.raises(Exception, match="Could not find public function"):
        sync.call("action testapp/nosuch:fn", client.action, "testapp/nosuch:fn")
    with pytest.raises(Exception) as info:
        sync.call("query testapp:boom", client.query, "testapp:boom")
    assert "secret internal detail" not in str(info.value)
    assert "Server Error" in str(info.value)
    error = sync.subscribe(client, "testapp:no_such_function").error("QueryFailed")
    assert "Could not find public function" in str(error) and not isinstance(error, ConvexError)
    assert sync.call("query testapp:ping", client.query, "testapp:ping") == "pong"
