"""Tokens on the WebSocket: `Authenticate` against a live server with the test issuers
(tests/auth_support.py), frames recorded with the strict raw client (tests/sync_client.py).

A valid token switches the socket's identity in one Transition that bumps the identity version
and carries every query's result for the new identity; no Transition after the switch carries a
result computed for the identity of before, even while writes keep the queries re-running. A
refused token gets an AuthError (`authUpdateAttempted: true`, the fixed message, never the
reason) and a close, and nothing runs with it. Calls run under the identity they were sent with.
A token that expires while in use gets an AuthError (`authUpdateAttempted: false`) and a close.
Scheduled functions run with no identity.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
import requests
import websockets
from django.db import connections

from reactive.testing import run_scheduled
from tests.auth_support import (
    BAD_TOKENS,
    FILE_ISSUER,
    HS_ISSUER,
    NO_PROVIDER,
    SECRET,
    STATIC_ISSUER,
    URL_ISSUER,
    JwksServer,
    Keys,
    jwk,
    token,
)
from tests.conftest import LiveServer
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db

LEEWAY = 1  # the server's AUTH.leeway_seconds: a token's identity ends 1 s after its exp
UNVERIFIED = "Could not verify OIDC token claim."
NO_PROVIDER_MESSAGE = "No auth provider found matching the given token."
P = "testapp/auth_probe"


@pytest.fixture(scope="module")
def server(auth_server: LiveServer) -> LiveServer:
    return auth_server


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def http_query(server: LiveServer, path: str, args: dict[str, Any]) -> Any:
    r = server.post("/api/query", {"path": path, "args": [args]})
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    return r.json()["value"]


def http_mutation(server: LiveServer, path: str, args: dict[str, Any]) -> Any:
    r = server.post("/api/mutation", {"path": path, "args": [args]})
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    return r.json()["value"]


async def authenticate(client: RawSync, base: int, value: str | None, kind: str = "User") -> None:
    message: dict[str, Any] = {"type": "Authenticate", "tokenType": kind, "baseVersion": base}
    if value is not None:
        message["value"] = value
    await client.send(message)


async def next_other(client: RawSync, timeout: float = 10.0) -> dict[str, Any]:
    """The next message that is neither a Transition nor a call response."""
    while True:
        before = len(client.others)
        await client.recv(timeout)
        if len(client.others) > before:
            return client.others[-1]


async def closed(client: RawSync, timeout: float = 5.0) -> bool:
    try:
        while True:
            await client.recv(timeout)
    except websockets.ConnectionClosed:
        return True


def switching_transition(client: RawSync, identity_version: int) -> dict[str, Any]:
    (t,) = [
        t
        for t in client.transitions
        if t["startVersion"]["identity"] < identity_version <= t["endVersion"]["identity"]
    ]
    return t


# -- switching identity ------------------------------------------------------------------------


async def test_a_token_switches_the_identity_in_one_transition(server: LiveServer) -> None:
    client = await RawSync.connect(server.ws_url)
    whoami = await client.subscribe("testapp:whoami")
    assert client.results[whoami] is None
    await authenticate(client, 0, token(Keys.url_a, sub="ws-ada", name="Ada"))
    await client.until(lambda: client.version["identity"] == 1)
    # the Transition that bumps the identity version carries the query's new result
    t = switching_transition(client, 1)
    assert [m["queryId"] for m in t["modifications"]] == [whoami], t
    assert client.results[whoami] == {
        "tokenIdentifier": f"{URL_ISSUER}|ws-ada",
        "subject": "ws-ada",
        "issuer": URL_ISSUER,
        "name": "Ada",
    }
    # a token of each other kind of issuer, then logout
    for version, (tok, issuer) in enumerate(
        [
            (token(Keys.file_ec, iss=FILE_ISSUER, kid="f", alg="ES256"), FILE_ISSUER),
            (token(Keys.static, iss=STATIC_ISSUER, kid=None, aud="other"), STATIC_ISSUER),
            (token(SECRET, iss=HS_ISSUER, kid=None, alg="HS256"), HS_ISSUER),
        ],
        start=1,
    ):
        await authenticate(client, version, tok)
        await client.until(lambda v=version: client.version["identity"] == v + 1)
        assert client.results[whoami]["issuer"] == issuer
    await authenticate(client, 4, None, kind="None")
    await client.until(lambda: client.version["identity"] == 5)
    assert client.results[whoami] is None
    assert switching_transition(client, 5)["modifications"], "logout re-sends the result"
    await client.close()


async def test_logout_returns_to_the_django_session_identity(server: LiveServer) -> None:
    session = requests.Session()
    username = unique("ws-sess")
    session.get(server.url + "/test/login", params={"username": username}, timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    client = await RawSync.connect(server.ws_url, additional_headers={"Cookie": cookie})
    whoami = await client.subscribe("testapp:whoami")
    assert client.results[whoami]["issuer"] == "django"
    await authenticate(client, 0, token(Keys.url_a, sub="ws-other"))
    await client.until(lambda: client.version["identity"] == 1)
    assert client.results[whoami]["subject"] == "ws-other"
    await authenticate(client, 1, None, kind="None")
    await client.until(lambda: client.version["identity"] == 2)
    assert client.results[whoami]["issuer"] == "django"
    assert client.results[whoami]["preferredUsername"] == username
    # the server's own token for the same user gives the same identity as the session
    tok = session.get(server.url + "/api/auth/token", timeout=30).json()["token"]
    anonymous = await RawSync.connect(server.ws_url)
    qid = await anonymous.subscribe("testapp:whoami")
    await authenticate(anonymous, 0, tok)
    await anonymous.until(lambda: anonymous.version["identity"] == 1)
    assert anonymous.results[qid] == client.results[whoami]
    await client.close()
    await anonymous.close()


# -- refused tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_TOKENS) + sorted(NO_PROVIDER))
async def test_a_refused_token_is_an_auth_error_and_a_close(server: LiveServer, case: str) -> None:
    bad = (BAD_TOKENS | NO_PROVIDER)[case]()
    name = unique("refused")
    client = await RawSync.connect(server.ws_url)
    await client.subscribe("testapp:whoami")
    await authenticate(client, 0, bad)
    # sent right behind the Authenticate: it must not run, with the token or without
    await client.send(
        {"type": "Mutation", "requestId": 0, "udfPath": f"{P}:record", "args": [{"name": name}]}
    )
    error = await next_other(client)
    assert error == {
        "type": "AuthError",
        "error": error["error"],
        "baseVersion": 0,
        "authUpdateAttempted": True,
    }
    expected = NO_PROVIDER_MESSAGE if case in NO_PROVIDER else UNVERIFIED
    assert error["error"].startswith(expected), error
    assert await closed(client)
    assert client.version["identity"] == 0 and client.responses == {}
    assert http_query(server, f"{P}:topic", {"name": name}) is None


async def test_admin_keys_are_refused(server: LiveServer) -> None:
    client = await RawSync.connect(server.ws_url)
    await authenticate(client, 0, "some-admin-key", kind="Admin")
    error = await next_other(client)
    assert error["type"] == "AuthError" and error["authUpdateAttempted"] is True
    assert error["error"].startswith("Admin keys are not accepted by this server")
    assert await closed(client)


async def test_a_wrong_base_version_is_a_protocol_error(server: LiveServer) -> None:
    client = await RawSync.connect(server.ws_url)
    await authenticate(client, 3, token(Keys.url_a))
    error = await next_other(client)
    assert error["type"] == "FatalError", error
    assert "Authenticate baseVersion 3, expected 0" in error["error"]
    assert await closed(client)


async def test_a_cross_site_page_cannot_use_the_session_cookie(server: LiveServer) -> None:
    session = requests.Session()
    session.get(server.url + "/test/login", params={"username": unique("xo")}, timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    with pytest.raises(websockets.InvalidStatus) as exc:
        await RawSync.connect(
            server.ws_url, additional_headers={"Cookie": cookie}, origin="http://evil.test"
        )
    assert exc.value.response.status_code == 403
    # the same cookie from the site's own page (scheme, host and port) does authenticate
    client = await RawSync.connect(
        server.ws_url, additional_headers={"Cookie": cookie}, origin=server.url
    )
    qid = await client.subscribe("testapp:whoami")
    assert client.results[qid]["issuer"] == "django"
    await client.close()


async def test_verification_runs_off_the_event_loop(server: LiveServer, jwks: JwksServer) -> None:
    """A token whose kid makes the server fetch a slow JWKS holds up its own socket only."""
    slow_key = Keys.url_b
    jwks.keys = [jwk(Keys.url_a.public_key(), "a"), jwk(slow_key.public_key(), "slow")]
    jwks.delay = 1.5
    try:
        waiting = await RawSync.connect(server.ws_url)
        await authenticate(waiting, 0, token(slow_key, kid="slow", sub="slow-user"))
        other = await RawSync.connect(server.ws_url)
        started = time.monotonic()
        qid = await other.subscribe("testapp:whoami")
        assert other.results[qid] is None
        assert time.monotonic() - started < 1.0, "another socket waited for the JWKS fetch"
        wq = await waiting.subscribe("testapp:whoami", wait=False)
        await waiting.until(lambda: wq in waiting.results)
        assert waiting.results[wq]["subject"] == "slow-user"
        assert waiting.version["identity"] == 1
    finally:
        jwks.delay = 0.0
    await waiting.close()
    await other.close()


async def test_a_socket_closed_while_its_token_is_verified_holds_nothing(
    server: LiveServer, jwks: JwksServer
) -> None:
    def subscriptions() -> int:
        return int(http_query(server, "testapp:listener_stats", {})["subscriptions"])

    baseline = subscriptions()
    jwks.keys = [jwk(Keys.url_a.public_key(), "a"), jwk(Keys.url_b.public_key(), "closing")]
    jwks.delay = 1.0
    try:
        client = await RawSync.connect(server.ws_url)
        await client.subscribe(f"{P}:seen", {"name": unique("closing")})
        assert subscriptions() == baseline + 1
        await authenticate(client, 0, token(Keys.url_b, kid="closing", sub="gone"))
        await asyncio.sleep(0.2)  # the server is fetching the JWKS
        await client.close()
        await asyncio.sleep(1.5)  # the verification has finished by now
    finally:
        jwks.delay = 0.0
    deadline = time.monotonic() + 5
    while subscriptions() != baseline and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert subscriptions() == baseline, "a closed socket's queries are still held"


# -- calls and identity ------------------------------------------------------------------------


async def test_calls_run_under_the_identity_they_were_sent_with(server: LiveServer) -> None:
    """Mutations queue up behind each other: those sent before the Authenticate run as the
    anonymous caller even when their turn comes after the switch; those after, as the token."""
    client = await RawSync.connect(server.ws_url)
    prefix = unique("calls")
    before = [f"{prefix}-before-{i}" for i in range(20)]
    after = [f"{prefix}-after-{i}" for i in range(3)]
    request = 0
    for name in before:
        await client.send(
            {
                "type": "Mutation",
                "requestId": request,
                "udfPath": f"{P}:record",
                "args": [{"name": name}],
            }
        )
        request += 1
    await client.send(
        {
            "type": "Action",
            "requestId": request,
            "udfPath": f"{P}:record_from_action",
            "args": [{"name": f"{prefix}-action-before"}],
        }
    )
    request += 1
    await authenticate(client, 0, token(SECRET, iss=HS_ISSUER, kid=None, alg="HS256", sub="tok"))
    for name in after:
        await client.send(
            {
                "type": "Mutation",
                "requestId": request,
                "udfPath": f"{P}:record",
                "args": [{"name": name}],
            }
        )
        request += 1
    await client.send(
        {
            "type": "Action",
            "requestId": request,
            "udfPath": f"{P}:record_from_action",
            "args": [{"name": f"{prefix}-action-after"}],
        }
    )
    await client.until(lambda: len(client.responses) == request + 1, timeout=30)
    assert all(r["success"] for r in client.responses.values()), client.responses
    for name in [*before, f"{prefix}-action-before"]:
        assert http_query(server, f"{P}:topic", {"name": name}) == "anonymous", name
    for name in [*after, f"{prefix}-action-after"]:
        assert http_query(server, f"{P}:topic", {"name": name}) == "tok", name
    await client.close()


def _run_scheduled() -> list[str]:
    try:
        return run_scheduled()
    finally:
        connections.close_all()  # this thread's connection: the test database is dropped later


@pytest.mark.django_db(transaction=True)
async def test_scheduled_functions_run_with_no_identity(server: LiveServer) -> None:
    client = await RawSync.connect(server.ws_url)
    await authenticate(client, 0, token(Keys.url_a, sub="scheduler-caller"))
    name = unique("scheduled")
    assert await client.mutation(f"{P}:schedule_record", {"name": name}) == "scheduler-caller"
    await client.close()
    assert await asyncio.to_thread(_run_scheduled) == ["success"]
    assert http_query(server, f"{P}:topic", {"name": name}) == "anonymous"


# -- no result of the old identity after a switch ---------------------------------------------


async def test_no_transition_after_a_switch_carries_the_old_identitys_result(
    server: LiveServer,
) -> None:
    """Switch identities over and over on one socket while another client keeps writing what
    its query reads: every result in every Transition is the one for the identity version that
    Transition ends at."""
    name = unique("switch")
    client = await RawSync.connect(server.ws_url)
    qid = await client.subscribe(f"{P}:seen", {"name": name})
    subjects: list[str | None] = [None]  # by identity version
    stop = asyncio.Event()

    async def write() -> None:
        writer = await RawSync.connect(server.ws_url)
        while not stop.is_set():
            await writer.mutation(f"{P}:bump", {"name": name})
        await writer.close()

    writing = asyncio.create_task(write())
    for i in range(12):
        subject = None if i % 4 == 3 else f"switch-{i}"
        if subject is None:
            await authenticate(client, i, None, kind="None")
        else:
            tok = token(SECRET, iss=HS_ISSUER, kid=None, alg="HS256", sub=subject)
            await authenticate(client, i, tok)
        subjects.append(subject)
        # let a few ticks of writes land between some switches, none between others
        if i % 3 == 0:
            await client.until(lambda v=i: client.version["identity"] == v + 1)
            await asyncio.sleep(0.05)
    await client.until(lambda: client.version["identity"] == len(subjects) - 1)
    value = http_mutation(server, f"{P}:bump", {"name": name})
    await client.until(lambda: client.results[qid]["value"] >= value)

    def updates() -> int:
        return sum(
            1
            for t in client.transitions
            for mod in t["modifications"]
            if mod["queryId"] == qid and mod["type"] == "QueryUpdated"
        )

    # a loaded machine writes less between switches: keep writing until there is enough to check
    await client.until(lambda: updates() > len(subjects))
    stop.set()
    await writing
    checked = 0
    for t in client.transitions:
        for mod in t["modifications"]:
            if mod["queryId"] == qid and mod["type"] == "QueryUpdated":
                expected = subjects[t["endVersion"]["identity"]]
                assert mod["value"]["subject"] == expected, (t["endVersion"], mod["value"])
                checked += 1
    assert checked > len(subjects), checked
    assert client.results[qid]["subject"] == subjects[-1]
    await client.close()


# -- expiry ------------------------------------------------------------------------------------


async def test_an_expiring_token_ends_with_an_auth_error_and_a_close(server: LiveServer) -> None:
    name = unique("expiry")
    client = await RawSync.connect(server.ws_url)
    qid = await client.subscribe(f"{P}:seen", {"name": name})
    exp = time.time() + 2
    await authenticate(client, 0, token(Keys.url_a, sub="short", exp=int(exp) + 1))
    await client.until(lambda: client.results[qid]["subject"] == "short")
    ends = int(exp) + 1 + LEEWAY
    # writes keep the query re-running until past the end
    writer = await RawSync.connect(server.ws_url)
    error = None
    while error is None:
        await writer.mutation(f"{P}:bump", {"name": name})
        try:
            await asyncio.wait_for(client.recv(), 0.1)
        except TimeoutError:
            continue
        if client.others:
            error = client.others[-1]
    received = time.time()
    assert error == {
        "type": "AuthError",
        "error": "Convex token identity expired",
        "baseVersion": 1,
        "authUpdateAttempted": False,
    }
    assert ends <= received < ends + 1.5, (ends, received)
    assert await closed(client)
    await writer.close()


async def test_a_new_token_before_expiry_keeps_the_socket(server: LiveServer) -> None:
    client = await RawSync.connect(server.ws_url)
    qid = await client.subscribe("testapp:whoami")
    await authenticate(client, 0, token(Keys.url_a, sub="first", exp=int(time.time()) + 2))
    await client.until(lambda: client.version["identity"] == 1)
    await authenticate(client, 1, token(Keys.url_a, sub="second"))
    await client.until(lambda: client.version["identity"] == 2)
    assert client.results[qid]["subject"] == "second"
    # past the first token's end: no AuthError, the socket carries on
    await asyncio.sleep(2 + LEEWAY + 0.5)
    assert await client.mutation(f"{P}:record", {"name": unique("kept")}) == "second"
    assert not [m for m in client.others if m["type"] == "AuthError"], client.others
    await client.close()


def test_server_log_has_no_500(server: LiveServer) -> None:
    log = server.log()
    assert "Traceback" not in log and "socket task failed" not in log, log[-3000:]
