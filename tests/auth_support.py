"""Shared by the token tests over HTTP and over the WebSocket (tests/integration/test_http_auth.py,
test_ws_auth.py, the interop tests): generated keys, a local JWKS server whose keys can rotate,
test issuers of each kind (JWKS URL, JWKS file, static PEM key, HMAC secret), a token maker, the
catalogue of bad tokens, and a live server that accepts those issuers."""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import connection
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.conftest import LiveServer, start_server

AUDIENCE = "test-app"
URL_ISSUER = "https://url.issuer.test"
FILE_ISSUER = "https://file.issuer.test"
STATIC_ISSUER = "https://static.issuer.test"
HS_ISSUER = "https://hs.issuer.test"
SECRET = "a-shared-secret-of-at-least-thirty-two-bytes!"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else ECAlgorithm
    data: dict[str, Any] = json.loads(algorithm.to_jwk(key))
    return {**data, "kid": kid, "use": "sig"}


def pem(key: Any) -> str:
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
        self.delay = 0.0  # seconds each fetch takes (a slow identity provider)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                time.sleep(owner.delay)
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

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_jwks() -> JwksServer:
    server = JwksServer()
    server.keys = [jwk(Keys.url_a.public_key(), "a")]
    return server


def start_auth_server(
    db_name: str, tmp: Path, jwks_url: str, leeway_seconds: float = 5, server: str = "daphne"
) -> LiveServer:
    """A live server on the test database that accepts tokens of the four test issuers."""
    jwks_file = tmp / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk(Keys.file_ec.public_key(), "f")]}))
    auth = {
        "issuers": [
            {
                "issuer": URL_ISSUER,
                "audience": AUDIENCE,
                "jwks_url": jwks_url,
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
                "keys": [pem(Keys.static.public_key())],
            },
            {"issuer": HS_ISSUER, "audience": AUDIENCE, "secret": SECRET},
        ],
        "leeway_seconds": leeway_seconds,
    }
    return start_server(
        db_name, tmp, server=server, env_extra={"REACTIVE_TEST_AUTH": json.dumps(auth)}
    )


def token(
    key: Any,
    *,
    iss: str | None = URL_ISSUER,
    kid: str | None = "a",
    alg: str = "RS256",
    aud: str = AUDIENCE,
    **claims: Any,
) -> str:
    """A signed token (by default a valid one from the JWKS URL issuer, for 5 minutes); a claim
    given as None is left out."""
    now = int(time.time())
    body = {"iss": iss, "sub": "user-1", "aud": aud, "iat": now, "exp": now + 300, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"kid": kid} if kid else None
    return jwt.encode(body, key, algorithm=alg, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """A token with ``alg: none`` and no signature."""
    header = {"alg": "none", "typ": "JWT", "kid": "a"}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def hs_with(secret: str) -> str:
    """An HS256 token for the static (RSA) issuer, keyed with ``secret`` (alg confusion)."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": STATIC_ISSUER, "sub": "x", "aud": AUDIENCE, "exp": int(time.time()) + 60}
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    sig = hmac.new(secret.encode(), signing.encode(), "sha256").digest()
    return f"{signing}.{_b64(sig)}"


#: Tokens refused with "Could not verify OIDC token claim..."
BAD_TOKENS: dict[str, Callable[[], str]] = {
    "forged signature": lambda: token(Keys.stranger),
    "expired": lambda: token(Keys.url_a, exp=int(time.time()) - 60),
    "not yet valid": lambda: token(Keys.url_a, nbf=int(time.time()) + 60),
    "wrong audience": lambda: token(Keys.url_a, aud="someone-else"),
    "unknown kid": lambda: token(Keys.stranger, kid="zzz"),
    "no subject": lambda: token(Keys.url_a, sub=None),
    "no expiry": lambda: token(Keys.url_a, exp=None),
    "alg none": lambda: unsigned(
        {"iss": URL_ISSUER, "sub": "x", "aud": AUDIENCE, "exp": int(time.time()) + 60}
    ),
    # alg confusion: the static issuer's RSA public key used as an HMAC secret
    "HS256 with the public key": lambda: hs_with(pem(Keys.static.public_key())),
    "HS256 at an RSA issuer": lambda: token(SECRET, alg="HS256"),
    "garbage": lambda: "not-a-jwt",
    "garbage segments": lambda: "a.b.c",
}
#: Tokens refused with "No auth provider found matching the given token..."
NO_PROVIDER: dict[str, Callable[[], str]] = {
    "unknown issuer": lambda: token(Keys.url_a, iss="https://elsewhere.test"),
    "no issuer": lambda: token(Keys.url_a, iss=None),
}


# -- fixtures (a pytest plugin: tests/conftest.py lists this module in pytest_plugins) ----------


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    """The JWKS URL issuer's key server, for one test module."""
    server = start_jwks()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def auth_server(
    jwks: JwksServer,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[LiveServer]:
    """A live server on the test database trusting the four test issuers; its leeway is the
    test module's ``LEEWAY`` (seconds) when it sets one."""
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), name
    leeway = getattr(request.module, "LEEWAY", 5)
    tmp = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    live = start_auth_server(name, tmp, jwks.url, leeway)
    yield live
    live.stop()
