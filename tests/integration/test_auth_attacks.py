"""Attacks on identity and tokens over both transports, against a live server with the test
issuers (tests/auth_support.py): each test is a hole that was found and closed, or a guard that
must hold. A caller never runs a function, nor receives a result, under an identity it did not
prove; a bad token is an AuthError and a close (WebSocket) or a 401 in Convex's shape (HTTP),
never a 500.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import jwt
import psycopg
import pytest
import requests
from django.db import connection

from tests.auth_support import (
    AUDIENCE,
    FILE_ISSUER,
    HS_ISSUER,
    SECRET,
    URL_ISSUER,
    JwksServer,
    Keys,
    jwk,
    token,
)
from tests.conftest import LiveServer
from tests.integration.test_ws_auth import authenticate, closed, next_other
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db

UNVERIFIED = "Could not verify OIDC token claim."


@pytest.fixture(scope="module")
def server(auth_server: LiveServer) -> LiveServer:
    return auth_server


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def hs_token(**claims: Any) -> str:
    return token(SECRET, iss=HS_ISSUER, kid=None, alg="HS256", **claims)


# -- a token whose exp no float can hold ---------------------------------------------------------


def test_an_exp_too_large_for_a_float_is_a_401_not_a_500(server: LiveServer) -> None:
    """PyJWT accepts any integer `exp` in the future; the verifier turned it into a float for
    the socket's expiry and an OverflowError escaped as a 500."""
    bad = hs_token(sub="huge-exp", exp=10**400)
    r = server.post(
        "/api/query",
        {"path": "testapp:whoami", "args": [{}]},
        headers={"Authorization": f"Bearer {bad}"},
    )
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "Unauthenticated"
    assert r.json()["message"].startswith(UNVERIFIED)


async def test_an_exp_too_large_for_a_float_is_an_auth_error_on_the_socket(
    server: LiveServer,
) -> None:
    client = await RawSync.connect(server.ws_url)
    await authenticate(client, 0, hs_token(sub="huge-exp", exp=10**400))
    error = await next_other(client)
    assert error["type"] == "AuthError", error
    assert error["error"].startswith(UNVERIFIED) and error["authUpdateAttempted"] is True
    assert await closed(client)


def test_a_far_future_exp_that_fits_a_float_is_accepted(server: LiveServer) -> None:
    good = hs_token(sub="far-exp", exp=10**15)
    r = server.post(
        "/api/query",
        {"path": "testapp:whoami", "args": [{}]},
        headers={"Authorization": f"Bearer {good}"},
    )
    assert r.status_code == 200 and r.json()["value"]["subject"] == "far-exp", r.text


# -- odd Authorization headers and tokens ------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Convex some-admin-key",
        "Basic dXNlcjpwYXNz",
        "Bearer a b",
        "Bearer \u00e9\u00e9.\u00e9.\u00e9",
        "Bearer " + "A" * 8000 + ".e30.",  # under the ASGI server's header limit
        "Bearer e30.e30.",  # {} header: no alg
    ],
    ids=[
        "empty",
        "scheme only",
        "scheme space",
        "convex",
        "basic",
        "two parts",
        "latin1",
        "huge",
        "no alg",
    ],
)
def test_odd_authorization_headers_are_401s_in_convexs_shape(
    server: LiveServer, header: str
) -> None:
    r = requests.post(
        server.url + "/api/mutation",
        json={"path": "testapp/auth_probe:record", "args": [{"name": unique("odd")}]},
        headers={"Authorization": header.encode("utf-8").decode("latin-1")},
        timeout=30,
    )
    assert r.status_code == 401, r.text
    assert set(r.json()) == {"code", "message"} and r.json()["code"] == "Unauthenticated"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": 5},
        {"sub": {"id": "x"}},
        {"sub": ""},
        {"aud": 5},
        {"exp": "soon"},
        {"exp": True},
        {"nbf": "now"},
        {"iat": int(time.time()) + 3600},
    ],
    ids=[
        "sub int",
        "sub object",
        "sub empty",
        "aud int",
        "exp word",
        "exp bool",
        "nbf word",
        "iat future",
    ],
)
async def test_signed_tokens_with_odd_claims_are_refused_on_both_transports(
    server: LiveServer, claims: dict[str, Any]
) -> None:
    bad = hs_token(**claims)
    r = server.post(
        "/api/query",
        {"path": "testapp:whoami", "args": [{}]},
        headers={"Authorization": f"Bearer {bad}"},
    )
    assert r.status_code == 401 and r.json()["message"].startswith(UNVERIFIED), r.text
    client = await RawSync.connect(server.ws_url)
    await authenticate(client, 0, bad)
    error = await next_other(client)
    assert error["type"] == "AuthError" and error["error"].startswith(UNVERIFIED), error
    assert await closed(client)


def _forged(headers: dict[str, Any], key: Any = None, iss: str = URL_ISSUER) -> str:
    now = int(time.time())
    claims = {"iss": iss, "sub": "forged", "aud": AUDIENCE, "exp": now + 300}
    alg = "ES256" if iss == FILE_ISSUER else "RS256"
    signer = key if key is not None else (Keys.file_ec if iss == FILE_ISSUER else Keys.stranger)
    return jwt.encode(claims, signer, algorithm=alg, headers=headers)


FORGED_HEADERS: dict[str, Any] = {
    # keys the token names itself must be ignored: only the issuer's configured keys count
    "jku elsewhere": lambda jwks: _forged({"kid": "a", "jku": jwks.url}),
    "x5u elsewhere": lambda jwks: _forged({"kid": "a", "x5u": jwks.url}),
    "embedded jwk": lambda jwks: _forged({"kid": "a", "jwk": jwk(Keys.stranger.public_key(), "a")}),
    # a kid is never a path: the JWKS file issuer matches it against its keys' ids
    "kid path traversal": lambda jwks: _forged(
        {"kid": "../../../../etc/passwd"}, None, FILE_ISSUER
    ),
    # an extension the verifier does not understand, marked critical (RFC 7515 §4.1.11)
    "unknown crit": lambda jwks: _forged({"kid": "a", "crit": ["zzz"], "zzz": 1}, Keys.url_a),
}


@pytest.mark.parametrize("case", list(FORGED_HEADERS))
async def test_tokens_that_name_their_own_keys_are_refused(
    server: LiveServer, jwks: JwksServer, case: str
) -> None:
    bad = FORGED_HEADERS[case](jwks)
    r = server.post(
        "/api/query",
        {"path": "testapp:whoami", "args": [{}]},
        headers={"Authorization": f"Bearer {bad}"},
    )
    assert r.status_code == 401 and r.json()["message"].startswith(UNVERIFIED), r.text
    client = await RawSync.connect(server.ws_url)
    await authenticate(client, 0, bad)
    error = await next_other(client)
    assert error["type"] == "AuthError" and error["error"].startswith(UNVERIFIED), error
    assert await closed(client)


# -- the session cookie from another origin on the WebSocket ------------------------------------


def _login(server: LiveServer) -> str:
    session = requests.Session()
    session.get(server.url + "/test/login", params={"username": unique("xo")}, timeout=30)
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


async def test_another_origin_on_an_allowed_host_gets_no_session_identity(
    server: LiveServer,
) -> None:
    """ALLOWED_HOSTS says which Host names the server answers to, not which pages may use a
    visitor's cookie: a page on another port of an allowed host (or, with ``.example.com``,
    on any subdomain: same-site, so even a SameSite=Lax cookie goes along) opened the socket
    as the visitor. HTTP never used the session for such an origin; the socket now doesn't
    either (it may still connect and authenticate with a token)."""
    cookie = _login(server)
    host = server.url.split("://", 1)[1]
    foreign = "http://127.0.0.1:1"
    assert foreign != f"http://{host}"
    # HTTP: that origin's request runs without the session
    r = requests.post(
        server.url + "/api/query",
        json={"path": "testapp:whoami", "args": [{}]},
        headers={"Cookie": cookie, "Origin": foreign},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["value"] is None, r.text
    client = await RawSync.connect(
        server.ws_url, additional_headers={"Cookie": cookie}, origin=foreign
    )
    qid = await client.subscribe("testapp:whoami")
    assert client.results[qid] is None, client.results[qid]
    # a token still works from there
    await authenticate(client, 0, hs_token(sub="other-origin"))
    await client.until(lambda: client.version["identity"] == 1)
    assert client.results[qid]["subject"] == "other-origin"
    # logout goes back to no identity, not to the cookie's
    await authenticate(client, 1, None, kind="None")
    await client.until(lambda: client.version["identity"] == 2)
    assert client.results[qid] is None
    await client.close()
    # the site's own origin (scheme, host and port) does get the session
    client = await RawSync.connect(
        server.ws_url, additional_headers={"Cookie": cookie}, origin=server.url
    )
    qid = await client.subscribe("testapp:whoami")
    assert client.results[qid]["issuer"] == "django"
    await client.close()


# -- tokens of one subject whose claims differ only where Identity.as_dict does not look ------


@pytest.mark.parametrize(
    "claims_a, claims_b, read",
    [
        # OIDC's address: as_dict keeps only the formatted form
        (
            {"address": {"formatted": "1 Main St", "country": "FR"}},
            {"address": {"formatted": "1 Main St", "country": "US"}},
            "address",
        ),
        # a claim under a Convex name beside its OIDC name: as_dict keeps the OIDC one
        (
            {"given_name": "Ann", "givenName": "admin"},
            {"given_name": "Ann", "givenName": "guest"},
            "givenName",
        ),
    ],
    ids=["address", "renamed"],
)
async def test_a_shared_subscription_never_crosses_claims(
    server: LiveServer, claims_a: dict[str, Any], claims_b: dict[str, Any], read: str
) -> None:
    """Two sockets with tokens of one subject holding the same query shared one subscription
    when their identities rendered alike (`Identity.as_dict`), though a function reads the raw
    claims: the second socket was sent a result computed from the first one's token."""
    sub = unique("twin")
    a = await RawSync.connect(server.ws_url)
    await authenticate(a, 0, hs_token(sub=sub, **claims_a))
    await a.until(lambda: a.version["identity"] == 1)
    qa = await a.subscribe("testapp/auth_probe:claim", {"name": read})
    assert a.results[qa] == claims_a[read]
    b = await RawSync.connect(server.ws_url)
    await authenticate(b, 0, hs_token(sub=sub, **claims_b))
    await b.until(lambda: b.version["identity"] == 1)
    qb = await b.subscribe("testapp/auth_probe:claim", {"name": read})
    assert b.results[qb] == claims_b[read]
    await a.close()
    await b.close()


# -- a re-sent mutation's stored answer, asked for under another identity ---------------------


async def test_a_stored_mutation_answer_is_replayed_only_to_its_own_identity(
    server: LiveServer,
) -> None:
    """Exactly-once answers were keyed by (sessionId, requestId) alone: a socket that connected
    with another client's sessionId (as a reconnect, connectionCount > 0) under another identity
    and sent that request id got the other identity's stored result, and its own mutation did
    not run. Now the stored answer is replayed only to the identity that sent the mutation;
    another identity's request runs as its own."""
    session_id = str(uuid.uuid4())
    name_a, name_b = unique("replay-a"), unique("replay-b")
    victim = await RawSync.connect(server.ws_url, session_id=session_id)
    await authenticate(victim, 0, hs_token(sub="victim"))
    await victim.until(lambda: victim.version["identity"] == 1)
    assert await victim.mutation("testapp/auth_probe:record", {"name": name_a}) == "victim"
    await victim.close()
    attacker = await RawSync.connect(server.ws_url, session_id=session_id, connection_count=1)
    await authenticate(attacker, 0, hs_token(sub="attacker"))
    await attacker.until(lambda: attacker.version["identity"] == 1)
    assert await attacker.mutation("testapp/auth_probe:record", {"name": name_b}) == "attacker"
    topic = await attacker.subscribe("testapp/auth_probe:topic", {"name": name_b})
    assert attacker.results[topic] == "attacker"
    await attacker.close()
    # the victim's own reconnect still gets its stored answer, not a second run
    again = await RawSync.connect(server.ws_url, session_id=session_id, connection_count=1)
    await authenticate(again, 0, hs_token(sub="victim"))
    await again.until(lambda: again.version["identity"] == 1)
    response = await again.call(
        "Mutation", "testapp/auth_probe:record", {"name": unique("never")}, request_id=0
    )
    assert response["success"] and response["result"] == "victim", response
    await again.close()


# -- a user deactivated after being given a token ----------------------------------------------


def _db() -> psycopg.Connection[Any]:
    """A connection of its own to the test database, outside the test's transaction: the live
    server must see what it writes."""
    settings = connection.settings_dict
    params = {"dbname": settings["NAME"], "user": settings["USER"], **settings["OPTIONS"]}
    if settings["HOST"]:
        params["host"] = settings["HOST"]
    if settings["PORT"]:
        params["port"] = settings["PORT"]
    if settings["PASSWORD"]:
        params["password"] = settings["PASSWORD"]
    return psycopg.connect(**params, autocommit=True)


def _deactivate(username: str) -> None:
    with _db() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE username = %s", [username])


def test_a_deactivated_user_gets_no_new_identity_but_a_token_lasts_until_exp(
    server: LiveServer,
) -> None:
    """What docs/auth.md says: tokens are stateless (a server token outlives the account's
    deactivation by at most its lifetime plus the leeway), the session and the token view
    stop at once."""
    username = unique("gone")
    session = requests.Session()
    session.get(server.url + "/test/login", params={"username": username}, timeout=30)
    r = session.get(server.url + "/api/auth/token", timeout=30)
    assert r.status_code == 200, r.text
    issued = r.json()["token"]
    _deactivate(username)
    assert session.get(server.url + "/api/auth/token", timeout=30).status_code == 401
    r = session.post(
        server.url + "/api/query", json={"path": "testapp:whoami", "args": [{}]}, timeout=30
    )
    assert r.status_code == 200 and r.json()["value"] is None, r.text
    r = server.post(
        "/api/query",
        {"path": "testapp:whoami", "args": [{}]},
        headers={"Authorization": f"Bearer {issued}"},
    )
    assert r.status_code == 200 and r.json()["value"]["preferredUsername"] == username, r.text


def _end_session(cookie: str) -> None:
    """What Django's logout does to the server side of a session (`flush`: the row goes)."""
    key = dict(part.split("=", 1) for part in cookie.split("; "))["sessionid"]
    with _db() as conn:
        conn.execute("DELETE FROM django_session WHERE session_key = %s", [key])


async def test_clear_auth_after_logout_does_not_bring_back_the_logged_out_user(
    server: LiveServer,
) -> None:
    """`clearAuth()` goes back to the Django session's identity: the session as it is then,
    not as it was at the upgrade. A page that logged its user out of Django and cleared the
    client's token kept running as that user; so did a deactivated user's socket."""
    cookie = _login(server)
    client = await RawSync.connect(server.ws_url, additional_headers={"Cookie": cookie})
    qid = await client.subscribe("testapp:whoami")
    assert client.results[qid]["issuer"] == "django"
    await authenticate(client, 0, hs_token(sub="while-logged-in"))
    await client.until(lambda: client.version["identity"] == 1)
    _end_session(cookie)
    await authenticate(client, 1, None, kind="None")
    await client.until(lambda: client.version["identity"] == 2)
    assert client.results[qid] is None, client.results[qid]
    await client.close()


async def test_clear_auth_after_deactivation_is_anonymous(server: LiveServer) -> None:
    username = unique("deact")
    session = requests.Session()
    session.get(server.url + "/test/login", params={"username": username}, timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    client = await RawSync.connect(server.ws_url, additional_headers={"Cookie": cookie})
    qid = await client.subscribe("testapp:whoami")
    assert client.results[qid]["preferredUsername"] == username
    await authenticate(client, 0, hs_token(sub="someone"))
    await client.until(lambda: client.version["identity"] == 1)
    _deactivate(username)
    await authenticate(client, 1, None, kind="None")
    await client.until(lambda: client.version["identity"] == 2)
    assert client.results[qid] is None, client.results[qid]
    await client.close()


async def test_rapid_switching_never_sends_a_result_of_another_identity(
    server: LiveServer,
) -> None:
    """Twenty Authenticates back to back (two subjects and logouts), sent without waiting,
    while another socket keeps writing what the query reads: every result in a Transition is
    the one of the identity that Transition's end version names."""
    name = unique("flip")
    plan = [("a", hs_token(sub="flip-a")), (None, None), ("b", hs_token(sub="flip-b"))] * 7
    plan = plan[:20]
    expected = {0: None} | {v + 1: subject for v, (subject, _) in enumerate(plan)}
    client = await RawSync.connect(server.ws_url)
    qid = await client.subscribe("testapp/auth_probe:seen", {"name": name})
    writer = await RawSync.connect(server.ws_url)
    stop = asyncio.Event()

    async def write() -> None:
        while not stop.is_set():
            await writer.mutation("testapp/auth_probe:bump", {"name": name})

    task = asyncio.create_task(write())
    try:
        for version, (_subject, tok) in enumerate(plan):
            await authenticate(client, version, tok, kind="User" if tok else "None")
        await client.until(lambda: client.version["identity"] == len(plan), timeout=30)
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await task
    checked = 0
    for t in client.transitions:
        identity = t["endVersion"]["identity"]
        for m in t["modifications"]:
            if m.get("queryId") == qid and m["type"] == "QueryUpdated":
                assert m["value"]["subject"] == expected[identity], (identity, m)
                checked += 1
    assert checked >= 2
    await client.close()
    await writer.close()


def test_server_log_has_no_500(server: LiveServer) -> None:
    time.sleep(0.2)
    log = server.log()
    assert "Traceback" not in log and "socket task failed" not in log, log[-3000:]


async def test_a_session_handshake_after_the_servers_connections_were_killed_is_not_a_500(
    server: LiveServer,
) -> None:
    """The upgrade reads the session in Channels' database thread, on a persistent connection.
    Killed under it (a failover, an administrator, a restart of Postgres), that connection made
    the next cookie handshake fail with HTTP 500; with Django's CONN_HEALTH_CHECKS the dead
    connection is found and replaced before the session is read."""
    cookie = _login(server)
    client = await RawSync.connect(server.ws_url, additional_headers={"Cookie": cookie})
    await client.subscribe("testapp:whoami")  # the session thread's connection is open now
    await client.close()
    with _db() as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'reactive-test-server'"
        ).fetchone()
    assert killed is not None and killed[0] > 0
    client = await RawSync.connect(server.ws_url, additional_headers={"Cookie": cookie})
    qid = await client.subscribe("testapp:whoami")
    assert client.results[qid]["issuer"] == "django"
    await client.close()


async def test_calls_after_the_servers_connections_were_killed_succeed(server: LiveServer) -> None:
    """Function calls skip the health check (a `SELECT 1` before every call) that
    CONN_HEALTH_CHECKS would make: a worker thread's persistent connection, killed under it, is
    found dead by the call's first statement and the call runs again on a fresh one. Every
    mutation and query over HTTP and WebSocket after the kill succeeds, on every worker
    thread (more calls than the server has threads), and each mutation is applied once."""
    name = unique("killed")

    def http(kind: str, path: str) -> Any:
        r = requests.post(
            f"{server.url}/api/{kind}", json={"path": path, "args": {"name": name}}, timeout=30
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "success", body
        return body["value"]

    client = await RawSync.connect(server.ws_url)
    qid = await client.subscribe("testapp:counter_value", {"name": name})
    expected = 0
    for _ in range(2):
        for _ in range(8):  # warm the worker threads' connections
            expected += 1
            assert http("mutation", "testapp:counter_inc") == expected
        with _db() as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() "
                "AND application_name = 'reactive-test-server'"
            ).fetchone()
        assert killed is not None and killed[0] > 0
        for _ in range(8):
            expected += 1
            assert http("mutation", "testapp:counter_inc") == expected
            assert http("query", "testapp:counter_value") == expected
            expected += 1
            assert await client.mutation("testapp:counter_inc", {"name": name}) == expected
        await client.until(lambda n=expected: client.results.get(qid) == n, timeout=10)
    assert "Internal Server Error" not in server.log()
    await client.close()
