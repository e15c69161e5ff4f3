"""Bearer JWTs on the HTTP API and the token view, against a live server with test issuers.

Keys are generated here (cryptography); one issuer's JWKS is served by a tiny local HTTP server
(its keys rotate during a test), one's JWKS is a file, one has a static PEM key, one a shared
HMAC secret. Every refused token is a 401 in Convex's `{code, message}` shape, and a mutation
called with one writes nothing.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
import requests
from convex.http_client import ConvexHttpClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import connection
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.conftest import LiveServer, start_server

pytestmark = pytest.mark.django_db

AUDIENCE = "test-app"
URL_ISSUER = "https://url.issuer.test"
FILE_ISSUER = "https://file.issuer.test"
STATIC_ISSUER = "https://static.issuer.test"
HS_ISSUER = "https://hs.issuer.test"
SECRET = "a-shared-secret-of-at-least-thirty-two-bytes!"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else ECAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key))
    return {**jwk, "kid": kid, "use": "sig"}


def _pem(key: Any) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class Keys:
    url_a = _rsa()
    url_b = _rsa()
    file_ec = ec.generate_private_key(ec.SECP256R1())
    static = _rsa()
    stranger = _rsa()


class JwksServer:
    """Serves ``/jwks.json`` from a mutable key list, counting fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    server.keys = [_jwk(Keys.url_a.public_key(), "a")]
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture(scope="module")
def server(
    jwks: JwksServer,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), name
    tmp = tmp_path_factory.mktemp("auth")
    jwks_file = tmp / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [_jwk(Keys.file_ec.public_key(), "f")]}))
    auth = {
        "issuers": [
            {
                "issuer": URL_ISSUER,
                "audience": AUDIENCE,
                "jwks_url": jwks.url,
                "jwks_cooldown_seconds": 0,
            },
            {
                "issuer": FILE_ISSUER,
                "audience": AUDIENCE,
                "jwks_file": str(jwks_file),
                "algorithms": ["ES256"],
            },
            {
                "issuer": STATIC_ISSUER,
                "audience": [AUDIENCE, "other"],
                "keys": [_pem(Keys.static.public_key())],
            },
            {"issuer": HS_ISSUER, "audience": AUDIENCE, "secret": SECRET},
        ],
        "leeway_seconds": 5,
    }
    live = start_server(name, tmp, env_extra={"REACTIVE_TEST_AUTH": json.dumps(auth)})
    yield live
    live.stop()


def token(
    key: Any,
    *,
    iss: str = URL_ISSUER,
    kid: str | None = "a",
    alg: str = "RS256",
    aud: str = AUDIENCE,
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {"iss": iss, "sub": "user-1", "aud": aud, "iat": now, "exp": now + 300, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"kid": kid} if kid else None
    return jwt.encode(body, key, algorithm=alg, headers=headers)


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
    jwks.keys = [_jwk(Keys.url_a.public_key(), "a"), _jwk(Keys.url_b.public_key(), "b")]
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


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'a'})}.{part(claims)}."


BAD_TOKENS = {
    "forged signature": lambda: token(Keys.stranger),
    "expired": lambda: token(Keys.url_a, exp=int(time.time()) - 60),
    "not yet valid": lambda: token(Keys.url_a, nbf=int(time.time()) + 60),
    "wrong audience": lambda: token(Keys.url_a, aud="someone-else"),
    "no subject": lambda: token(Keys.url_a, sub=None),
    "no expiry": lambda: token(Keys.url_a, exp=None),
    "alg none": lambda: _unsigned(
        {"iss": URL_ISSUER, "sub": "x", "aud": AUDIENCE, "exp": int(time.time()) + 60}
    ),
    # alg confusion: the static issuer's RSA public key used as an HMAC secret
    "HS256 with the public key": lambda: _hs_with(_pem(Keys.static.public_key())),
    "HS256 at an RSA issuer": lambda: token(SECRET, alg="HS256"),
    "garbage": lambda: "not-a-jwt",
    "garbage segments": lambda: "a.b.c",
}
NO_PROVIDER = {
    "unknown issuer": lambda: token(Keys.url_a, iss="https://elsewhere.test"),
    "no issuer": lambda: token(Keys.url_a, iss=None),
}


def _hs_with(secret: str) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": STATIC_ISSUER, "sub": "x", "aud": AUDIENCE, "exp": int(time.time()) + 60}

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing = f"{part(json.dumps(header).encode())}.{part(json.dumps(claims).encode())}"
    sig = hmac.new(secret.encode(), signing.encode(), "sha256").digest()
    return f"{signing}.{part(sig)}"


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
    WebSocket `ConvexClient` uses the `Authenticate` message instead, which is not served yet)."""
    client = ConvexHttpClient(server.url)
    assert client.query("testapp:whoami") is None
    client.set_auth(token(Keys.url_a, sub="py-client"))
    assert client.query("testapp:whoami")["tokenIdentifier"] == f"{URL_ISSUER}|py-client"
    client.set_auth(token(Keys.stranger))
    # it reads Convex's error shape: "<status> <code>: <message>"
    with pytest.raises(Exception, match=r"^401 Unauthenticated: Could not verify"):
        client.query("testapp:whoami")
