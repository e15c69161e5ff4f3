"""A server's database connections stay bounded however many HTTP requests it answers.

Django under ASGI runs each request's synchronous code (the session and user reads behind
`request.auser()`, a sync view, the session middleware's save) in a thread made for that request
and ended after it. With persistent connections (CONN_MAX_AGE > 0, as the test servers run) the
connection such a thread opened outlived it, until CPython's cyclic collector found it; with
`SYNC.gc_threshold` raising the collector's threshold, hundreds of them piled up and one server
held all of Postgres's connections. Here a server with that threshold answers a few hundred
requests of every kind that touches the database, and its connections are counted.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import LiveServer, start_server
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db

ROUNDS = 60  # five requests each
#: the default executor's threads (min(32, cpus + 4)), the listener's, Channels' database thread,
#: the wake-up listener's LISTEN connection, with room to spare; a leak is one per request
BOUND = 16


@pytest.fixture
def db_name(django_db_setup: None) -> str:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), name
    return str(name)


def _backends(db_name: str, application_name: str) -> int:
    from django.db import connection

    settings = connection.settings_dict
    params = {"dbname": db_name, "user": settings["USER"], **settings["OPTIONS"]}
    if settings["HOST"]:
        params["host"] = settings["HOST"]
    if settings["PORT"]:
        params["port"] = settings["PORT"]
    with psycopg.connect(**params, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (db_name, application_name),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _requests(server: LiveServer, db_name: str, app: str) -> None:
    """Every kind of request that reads or writes the database, counting the server's
    connections after each round (a leak stops the test before it can exhaust Postgres)."""
    web = requests.Session()
    name = f"conn-{uuid.uuid4().hex[:10]}"
    for i in range(ROUNDS):
        # a sync view that writes the user and the session (a request thread)
        r = web.get(server.url + "/test/login", params={"username": f"{name}-{i}"}, timeout=30)
        assert r.status_code == 200, r.text
        # the session identity of an API call: request.auser() reads the session and the user
        # in the request's thread; the function runs in one of the executor's
        r = web.post(server.url + "/api/query", json={"path": "testapp:whoami"}, timeout=30)
        assert r.json()["value"]["issuer"] == "django", r.text
        r = web.post(
            server.url + "/api/mutation",
            json={"path": "testapp/bench:bump", "args": {"name": name}},
            timeout=30,
        )
        assert r.json()["value"] == i + 1, r.text
        # the token endpoint reads the session too
        assert web.get(server.url + "/api/auth/token", timeout=30).status_code == 200
        # a plain sync Django view reading a table (a request thread)
        assert web.get(server.url + "/test/plain_latest", timeout=30).status_code == 200
        count = _backends(db_name, app)
        assert count <= BOUND, f"{count} connections after {(i + 1) * 5} requests"


async def test_a_servers_connections_stay_bounded_with_the_collectors_threshold_raised(
    db_name: str, tmp_path: Path
) -> None:
    app = f"reactive-conn-{uuid.uuid4().hex[:8]}"
    server = start_server(
        db_name,
        tmp_path,
        env_extra={
            "REACTIVE_TEST_SYNC": json.dumps({"gc_threshold": 50_000}),
            "REACTIVE_TEST_APPLICATION_NAME": app,
        },
    )
    try:
        # a socket starts the sync engine, which freezes start-up and raises the threshold
        client = await RawSync.connect(server.ws_url)
        await client.subscribe("testapp:counter_value", {"name": "conn"})
        r = await asyncio.to_thread(server.post, "/api/query", {"path": "testapp:listener_stats"})
        assert r.json()["value"]["gc_threshold"] == 50_000
        await asyncio.to_thread(_requests, server, db_name, app)
        await client.close()
    finally:
        server.stop()
