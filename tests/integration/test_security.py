"""Where auth and rules meet, tried as an attacker would: a socket that switches from one user's
token to another's while that first user keeps writing private rows, and internal functions
called with a perfectly valid token over both transports.

The rest of the attack list lives beside each feature: refused tokens over HTTP
(test_http_auth.py) and over the WebSocket, cross-site cookies and stale identities
(test_ws_auth.py), denied rows through every read path, writes a rule refuses by the new value,
system tables and failing rules (test_rules.py, test_rules_live.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import requests
from django.db import connection, connections

from tests.auth_support import HS_ISSUER, SECRET, token
from tests.conftest import LiveServer
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db

R = "testapp/rules:"


@pytest.fixture(scope="module")
def server(auth_server: LiveServer) -> LiveServer:
    return auth_server


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def user_token(subject: str) -> str:
    return token(SECRET, iss=HS_ISSUER, kid=None, alg="HS256", sub=subject)


async def authenticate(client: RawSync, base: int, value: str) -> None:
    await client.send(
        {"type": "Authenticate", "tokenType": "User", "baseVersion": base, "value": value}
    )


def titles(value: Any) -> set[str]:
    docs = value["page"] if isinstance(value, dict) else value
    return {d["title"] for d in docs}


async def test_switching_users_never_shows_the_first_users_rows_after_the_switch(
    server: LiveServer,
) -> None:
    """alice's socket holds her posts (a Q rule: her own and public ones) and a page of them;
    it switches to bob's token while alice keeps writing private posts from another socket.
    The Transition that switches, and every one after it, carries none of alice's private rows,
    though her writes re-run the queries (her public posts among them reach bob); before the
    switch they were there."""
    alice, bob = unique("alice"), unique("bob")
    marker = unique("ALICE-PRIVATE")
    shown = unique("public")
    sub = await RawSync.connect(server.ws_url)
    await authenticate(sub, 0, user_token(alice))
    q_posts = await sub.subscribe(R + "posts")
    q_page = await sub.subscribe(
        R + "posts_page", {"paginationOpts": {"numItems": 500, "cursor": None}}
    )
    writer = await RawSync.connect(server.ws_url)
    await authenticate(writer, 0, user_token(alice))
    await writer.mutation(R + "create_post", {"title": f"{marker}-0"})
    await writer.mutation(R + "create_post", {"title": shown, "public": True})
    await sub.until(lambda: f"{marker}-0" in titles(sub.results[q_posts]))

    stop = asyncio.Event()
    written = 0

    async def keep_writing() -> None:
        nonlocal written
        while not stop.is_set():
            written += 1
            await writer.mutation(R + "create_post", {"title": f"{marker}-{written}"})
            # and a public post now and then, so that bob's results change and are sent
            if written % 3 == 0:
                await writer.mutation(
                    R + "create_post", {"title": f"{shown}-{written}", "public": True}
                )

    writing = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.2)  # some of alice's writes land while the socket is hers
    switch_at = len(sub.transitions)
    await authenticate(sub, 1, user_token(bob))
    await sub.until(lambda: sub.version["identity"] == 2)
    await asyncio.sleep(0.5)  # and more after the switch, each re-running bob's queries
    stop.set()
    await writing
    last = f"{marker}-{written}"
    last_public = await writer.mutation(
        R + "create_post", {"title": f"{shown}-last", "public": True}
    )
    await writer.close()

    # bob sees the public post, and the Transitions before the switch showed alice her rows
    await sub.until(lambda: f"{shown}-last" in titles(sub.results[q_posts]))
    await sub.until(lambda: f"{shown}-last" in titles(sub.results[q_page]))
    assert last_public and shown in titles(sub.results[q_posts])
    # the switch is the first Transition ending at identity version 2; those before it (some
    # received after the Authenticate was sent, sent before the server read it) are alice's
    switch = next(i for i, t in enumerate(sub.transitions) if t["endVersion"]["identity"] == 2)
    assert switch >= switch_at
    assert f"{marker}-0" in json.dumps(sub.transitions[:switch])
    after = sub.transitions[switch:]
    assert all(t["endVersion"]["identity"] == 2 for t in after)
    assert marker not in json.dumps(after), "a row only alice may read reached bob's socket"
    assert len(after) > 1, "no public post reached bob after the switch"
    # alice's writes after the switch did reach the server (so they did re-run bob's queries)
    assert written >= 2, written
    check = await RawSync.connect(server.ws_url)
    await authenticate(check, 0, user_token(alice))
    q_check = await check.subscribe(R + "posts")
    await check.until(lambda: last in titles(check.results[q_check]))
    for client in (sub, check):
        await client.close()


@pytest.mark.parametrize(
    "kind,path,args",
    [
        ("Query", "testapp:secret", {}),
        ("Mutation", "testapp:internal_touch", {"name": "SECURITY-WS"}),
        ("Action", "testapp/auth_probe:record_from_internal_action", {"name": "SECURITY-WS"}),
    ],
)
async def test_internal_functions_are_refused_on_an_authenticated_socket(
    server: LiveServer, kind: str, path: str, args: dict[str, Any]
) -> None:
    client = await RawSync.connect(server.ws_url)
    await authenticate(client, 0, user_token(unique("caller")))
    if kind == "Query":
        qid = await client.subscribe(path, args)
        assert qid in client.errors and qid not in client.results
        assert "Could not find public function" in client.errors[qid]["errorMessage"]
    else:
        response = await client.call(kind, path, args)
        assert response["success"] is False
        assert "Could not find public function" in response["result"]
    await client.close()
    assert not await asyncio.to_thread(_rows_named_then_close, "SECURITY-WS")


@pytest.mark.parametrize(
    "kind,path",
    [
        ("query", "testapp:secret"),
        ("mutation", "testapp:internal_touch"),
        ("mutation", "testapp/auth_probe:record_internal"),
        ("action", "testapp/auth_probe:record_from_internal_action"),
    ],
)
def test_internal_functions_are_refused_with_a_valid_bearer_token(
    server: LiveServer, kind: str, path: str
) -> None:
    r = requests.post(
        f"{server.url}/api/{kind}",
        json={"path": path, "args": {"name": "SECURITY-HTTP"}, "format": "json"},
        headers={"Authorization": f"Bearer {user_token(unique('caller'))}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text  # a function error, as Convex answers
    body = r.json()
    assert body["status"] == "error"
    assert "Could not find public function" in body["errorMessage"]
    assert not _rows_named("SECURITY-HTTP")


def _rows_named(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM testapp_counter WHERE name = %s)"
            " + (SELECT count(*) FROM testapp_channel WHERE name = %s)",
            [name, name],
        )
        (count,) = cursor.fetchone()
    return bool(count)


def _rows_named_then_close(name: str) -> bool:
    try:
        return _rows_named(name)
    finally:
        connections.close_all()  # this thread's connection: the test database is dropped later
