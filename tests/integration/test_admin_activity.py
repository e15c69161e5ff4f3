"""The admin's "Activity" page (reactive.admin.activity) over the figures every process flushes
(reactive.observe): the slowest functions with their read and write counts, retried and
conflicting calls, and live subscriptions per function, from this process and a live server."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.db import connections, transaction
from django.test import Client, override_settings

from reactive.errors import ConflictError
from reactive.functions.executor import execute
from reactive.models import ConflictEvent, FunctionStat, ProcessSubscriptions
from reactive.observe import flush, stats
from reactive.transactions import retry
from tests.sync_client import RawSync
from tests.testapp.models import Counter

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/admin/reactive/functionstat/"


@pytest.fixture
def admin_client() -> Client:
    web = Client()
    web.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    stats.take()  # figures of earlier tests in this process are not this test's
    # ... nor what other processes of earlier tests (live servers, workers) flushed
    FunctionStat.objects.all().delete()
    ConflictEvent.objects.all().delete()
    return web


def _page(web: Client, **params: Any) -> Any:
    response = web.get(URL, params)
    assert response.status_code == 200
    return response.context


def _until(predicate: Any, what: str, timeout: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {what} in {timeout} s")


def test_calls_of_this_process_with_reads_writes_and_conflicts(admin_client: Client) -> None:
    for _ in range(3):
        assert execute("testapp:counter_inc", {"name": "a"}).ok
    assert execute("testapp:counter_inc", {"name": 1}).error is not None  # an error is counted
    execute("testapp:no_such_function", {})  # not counted: its path is anyone's to make up
    # a conflict: another session holds the row's lock longer than the call may wait
    retry._hot_until["reactive:testapp:counter_inc_locked"] = float("inf")
    Counter.objects.create(name="held", value=0)
    locked, release = threading.Event(), threading.Event()

    def hold_row() -> None:
        try:
            with transaction.atomic():
                Counter.objects.select_for_update().get(name="held")
                locked.set()
                release.wait(timeout=5)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        tight = {"RETRY": {"max_attempts": 1, "lock_timeout_ms": 20.0, "queued_seconds": 0.2}}
        with override_settings(REACTIVE=tight):
            out = execute("testapp:counter_inc_locked", {"name": "held"})
    finally:
        release.set()
        holder.join()
        retry._hot_until.clear()
    assert isinstance(out.error, ConflictError) and out.attempts > 1

    page = _page(admin_client)
    rows = {row["path"]: row for row in page["slowest"]}
    inc = rows["testapp:counter_inc"]
    assert (inc["calls"], inc["errors"], inc["retries"], inc["conflicts"]) == (4, 1, 0, 0)
    assert inc["reads"] > 0 and inc["writes"] == 0.75  # 3 writes over 4 calls
    assert 0 < inc["mean_ms"] <= inc["max_ms"]
    assert "testapp:no_such_function" not in rows
    locked_row = rows["testapp:counter_inc_locked"]
    assert (locked_row["conflicts"], locked_row["retries"]) == (1, out.attempts - 1)
    assert list(rows)[0] == "testapp:counter_inc_locked"  # the slowest first
    [event] = page["conflicts"]
    assert (event["path"], event["attempts"]) == ("testapp:counter_inc_locked", out.attempts)
    assert "SQLSTATE 55P03" in event["error"] and event["process"] == flush.PROCESS
    assert event["when"].endswith(" UTC") and event["when"][:2] == "20"  # a date, not a float
    # flushed again: added to the same minute's row, not a second row
    execute("testapp:counter_inc", {"name": "a"})
    flush.flush_now()
    assert FunctionStat.objects.filter(path="testapp:counter_inc").count() == 1
    assert FunctionStat.objects.get(path="testapp:counter_inc").calls == 5


def test_recent_conflicts_are_capped_and_old_figures_pruned(admin_client: Client) -> None:
    old_minute = int(time.time() // 60) - 25 * 60
    FunctionStat.objects.create(path="testapp:old", minute=old_minute, calls=1)
    for i in range(5):
        stats._retried.append(stats.Retried(time.time() * 1000, f"p{i}", 2, ""))
    flush._state.pruned = 0.0
    with override_settings(REACTIVE={"OBSERVE": {"recent_conflicts": 3, "flush_seconds": 0}}):
        flush.flush_now()
    assert sorted(ConflictEvent.objects.values_list("path", flat=True)) == ["p2", "p3", "p4"]
    assert not FunctionStat.objects.filter(path="testapp:old").exists()  # past 24 hours


def test_figures_and_live_subscriptions_of_a_server_process(
    admin_client: Client, asgi_server: Any
) -> None:
    """The live server is another process: it flushes every 0.5 s (tests/settings.py)."""
    response = requests.post(
        asgi_server.url + "/api/mutation",
        json={"path": "testapp:counter_inc", "args": {"name": "remote"}, "format": "json"},
        timeout=10,
    )
    assert response.json()["status"] == "success"

    def served() -> Any:
        rows = {r["path"]: r for r in _page(admin_client)["slowest"]}
        return rows.get("testapp:counter_inc")

    assert _until(served, "figures from the server")["calls"] >= 1

    subscribed, done = threading.Event(), threading.Event()

    async def hold() -> None:
        sockets = [await RawSync.connect(asgi_server.ws_url) for _ in range(2)]
        for sync in sockets:
            await sync.subscribe("testapp:whoami", {})
        await sockets[0].subscribe("testapp/messages:latest", {})
        subscribed.set()
        while not done.is_set():
            await asyncio.sleep(0.05)
        for sync in sockets:
            await sync.close()

    holder = threading.Thread(target=asyncio.run, args=(hold(),))
    holder.start()
    try:
        assert subscribed.wait(timeout=15)

        def counted() -> Any:
            page = _page(admin_client)
            found = dict(page["subscriptions"])
            return page if found.get("testapp:whoami") == 2 else None

        page = _until(counted, "two subscriptions to testapp:whoami")
        assert page["subscriptions"][0] == ("testapp:whoami", 2)  # most first
        assert dict(page["subscriptions"])["testapp/messages:latest"] == 1
        assert any(p["total"] == 3 for p in page["processes"])
        # a process that stopped without a word: its row expired, it is not counted
        ProcessSubscriptions.objects.create(
            process="gone:1:x", counts={"testapp:whoami": 5}, heartbeat=0.0, expires=1.0
        )
        assert dict(_page(admin_client)["subscriptions"])["testapp:whoami"] == 2
    finally:
        done.set()
        holder.join(timeout=15)

    def released() -> Any:
        return "testapp:whoami" not in dict(_page(admin_client)["subscriptions"])

    _until(released, "the subscriptions' end")
    assert not ProcessSubscriptions.objects.filter(process="gone:1:x").exists()  # deleted
