"""Bearer JWTs on the HTTP API and the token view, against a live server with test issuers.

Keys and issuers come from tests/auth_support.py: one issuer's JWKS is served by a tiny local
HTTP server (its keys rotate during a test), one's JWKS is a file, one has a static PEM key, one
a shared HMAC secret. Every refused token is a 401 in Convex's `{code, message}` shape, and a
mutation called with one writes nothing.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from convex.http_client import ConvexHttpClient

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

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def server(auth_server: LiveServer) -> LiveServer:
    return auth_server


def call(
    server: LiveServer, endpoint: str, path: str, args: Any = None, **headers: str
) -> requests.Response:
    return requests.post(
        server.url + endpoint,
        json={"path": path, "args": [args or {}]},
        headers=headers,
        timeout=30,
    )


def whoami(server: LiveServer, bearer: str, endpoint: str = "/api/query") -> Any:
    r = call(server, endpoint, "testapp:whoami", Authorization=f"Bearer {bearer}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success", body
    return body["value"]


def refused(r: requests.Response, message: str = "Could not verify") -> None:
    assert r.status_code == 401, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"code", "message"}, body
    assert body["code"] == "Unauthenticated", body
    assert body["message"].startswith(message), body
    assert "Traceback" not in r.text


def test_valid_tokens_from_each_kind_of_issuer(server: LiveServer) -> None:
    identity = whoami(server, token(Keys.url_a, name="Ada", email="ada@x.test", given_name="A"))
    assert identity == {
        "tokenIdentifier": f"{URL_ISSUER}|user-1",
        "subject": "user-1",
        "issuer": URL_ISSUER,
        "name": "Ada",
        "email": "ada@x.test",
        "givenName": "A",
    }
    ec_token = token(Keys.file_ec, iss=FILE_ISSUER, kid="f", alg="ES256")
    assert whoami(server, ec_token)["issuer"] == FILE_ISSUER
    static = token(Keys.static, iss=STATIC_ISSUER, kid=None, aud="other")
    assert whoami(server, static)["tokenIdentifier"] == f"{STATIC_ISSUER}|user-1"
    hs = token(SECRET, iss=HS_ISSUER, kid=None, alg="HS256")
    assert whoami(server, hs)["issuer"] == HS_ISSUER
    # every function endpoint reads the header: /api/function, /api/mutation, /api/run
    good = token(Keys.url_a)
    assert whoami(server, good, "/api/function")["subject"] == "user-1"
    name = f"auth-{uuid.uuid4().hex[:12]}"
    r = call(
        server,
        "/api/mutation",
        "testapp:create_channel",
        {"name": name},
        Authorization=f"Bearer {good}",
    )
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    r = requests.post(
        server.url + "/api/run/testapp/whoami",
        json={"args": {}},
        headers={"Authorization": f"Bearer {good}"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["value"]["subject"] == "user-1", r.text


def test_jwks_url_key_rotation_fetches_again_on_an_unknown_kid(
    server: LiveServer, jwks: JwksServer
) -> None:
    assert whoami(server, token(Keys.url_a))["subject"] == "user-1"
    jwks.keys = [jwk(Keys.url_a.public_key(), "a"), jwk(Keys.url_b.public_key(), "b")]
    before = jwks.fetches
    assert whoami(server, token(Keys.url_b, kid="b", sub="user-2"))["subject"] == "user-2"
    assert jwks.fetches == before + 1
    # cached now: no fetch for either kid
    whoami(server, token(Keys.url_a))
    whoami(server, token(Keys.url_b, kid="b"))
    assert jwks.fetches == before + 1
    # a kid the JWKS does not hold, even after fetching again
    refused(
        call(
            server,
            "/api/query",
            "testapp:whoami",
            Authorization="Bearer " + token(Keys.stranger, kid="zzz"),
        )
    )


@pytest.mark.parametrize("case", sorted(BAD_TOKENS) + sorted(NO_PROVIDER))
def test_bad_tokens_are_401_and_write_nothing(server: LiveServer, case: str) -> None:
    bad = (BAD_TOKENS | NO_PROVIDER)[case]()
    message = "No auth provider" if case in NO_PROVIDER else "Could not verify"
    refused(call(server, "/api/query", "testapp:whoami", Authorization=f"Bearer {bad}"), message)
    name = f"auth-{uuid.uuid4().hex[:12]}"
    r = call(
        server,
        "/api/mutation",
        "testapp:create_channel",
        {"name": name},
        Authorization=f"Bearer {bad}",
    )
    refused(r, message)
    names = call(server, "/api/query", "testapp:channel_names").json()["value"]
    assert name not in names


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "token-without-scheme"]
)
def test_malformed_authorization_headers_are_401(server: LiveServer, header: str) -> None:
    refused(call(server, "/api/query", "testapp:whoami", Authorization=header), "The Authorization")


def test_token_view_gives_a_logged_in_user_a_working_token(server: LiveServer) -> None:
    anonymous = requests.get(server.url + "/api/auth/token", timeout=30)
    refused(anonymous, "Log in")
    with requests.Session() as session:
        r = session.get(server.url + "/test/login", params={"username": "tok"}, timeout=30)
        assert r.status_code == 200, r.text
        session_identity = call_in(session, server)
        for method in ("GET", "POST"):
            r = session.request(method, server.url + "/api/auth/token", timeout=30)
            assert r.status_code == 200, r.text
            assert r.headers["Cache-Control"] == "no-store"
            body = r.json()
            assert set(body) == {"token", "expiresAt"}, body
            assert 0 < body["expiresAt"] - time.time() * 1000 <= 300_000
            # the token works on its own (no cookie) and gives the session's identity
            assert whoami(server, body["token"]) == session_identity
        # a cross-site page cannot use the visitor's cookie to get a token
        r = session.get(server.url + "/api/auth/token", headers={"Origin": "http://evil.test"})
        refused(r, "Log in")
    # a token signed by someone else but claiming the server's issuer is refused
    forged = token(SECRET, iss="django", kid=None, alg="HS256", aud="reactive")
    refused(call(server, "/api/query", "testapp:whoami", Authorization=f"Bearer {forged}"))


def call_in(session: requests.Session, server: LiveServer) -> Any:
    r = session.post(
        server.url + "/api/query", json={"path": "testapp:whoami", "args": [{}]}, timeout=30
    )
    value = r.json()["value"]
    assert value["issuer"] == "django", value
    return value


def test_server_log_has_the_reasons_and_no_500(server: LiveServer) -> None:
    log = server.log()
    assert " 500 " not in log and "Traceback" not in log, log[-3000:]


def test_official_python_http_client_set_auth(server: LiveServer) -> None:
    """PyPI `convex`'s legacy HTTP client sends `set_auth(token)` as a Bearer header (its
    WebSocket `ConvexClient` uses the `Authenticate` message instead: test_ws_auth.py)."""
    client = ConvexHttpClient(server.url)
    assert client.query("testapp:whoami") is None
    client.set_auth(token(Keys.url_a, sub="py-client"))
    assert client.query("testapp:whoami")["tokenIdentifier"] == f"{URL_ISSUER}|py-client"
    client.set_auth(token(Keys.stranger))
    # it reads Convex's error shape: "<status> <code>: <message>"
    with pytest.raises(Exception, match=r"^401 Unauthenticated: Could not verify"):
        client.query("testapp:whoami")
