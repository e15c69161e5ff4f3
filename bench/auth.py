"""What verifying a Bearer JWT (`reactive.auth.jwt.verify`) costs per call, keys cached.

RS256 (2048-bit) from a static PEM key and from a JWKS file (the cached path a JWKS URL takes
too, once fetched), ES256 (P-256) from a JWKS file, and the server's own HS256 tokens. Each
figure is the best of 5 rounds of 2,000 calls, in µs; `pyjwt_decode_rs256_us` is PyJWT's own
`jwt.decode` with the key object in hand, the floor. No database: only settings are read.

`ws_auth_cost` is the same cost as a WebSocket sees it, on a live server: the time from the
socket's open to its first Transition holding a query's result, with no token, with an RS256
token and with an HS256 token (Connect, Authenticate, ModifyQuerySet sent together; the token is
verified in a worker thread). Connections alternate between the three kinds; median and p95 in ms.

    python -m bench.auth          # standalone (tests.settings, the benchmark database)
    python bench/run.py ws_auth   # the WebSocket part, in the suite
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

import django
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import override_settings
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from reactive.auth import jwt as verifier
from reactive.auth import tokens

from .servers import Server

WS_SECRET = "bench-hs256-secret-of-at-least-32-bytes!"
_ws_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(public: Any, kid: str) -> dict[str, Any]:
    algorithm = (
        RSAAlgorithm
        if hasattr(public, "public_numbers") and hasattr(public.public_numbers(), "n")
        else ECAlgorithm
    )
    return {**json.loads(algorithm.to_jwk(public)), "kid": kid}


def auth_cost(calls: int = 2_000) -> dict[str, float]:
    """µs per verify() call, by kind of key."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    folder = Path(tempfile.mkdtemp())
    jwks = folder / "jwks.json"
    jwks.write_text(
        json.dumps({"keys": [_jwk(rsa_key.public_key(), "r"), _jwk(ec_key.public_key(), "e")]})
    )
    issuers = [
        {"issuer": "static", "audience": "a", "keys": [pem.decode()]},
        {
            "issuer": "file",
            "audience": "a",
            "jwks_file": str(jwks),
            "algorithms": ["RS256"],
        },
        {"issuer": "ec", "audience": "a", "jwks_file": str(jwks), "algorithms": ["ES256"]},
    ]

    def token(key: Any, iss: str, alg: str, kid: str | None) -> str:
        now = int(time.time())
        claims = {"iss": iss, "sub": "u", "aud": "a", "iat": now, "exp": now + 3600}
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)

    results: dict[str, float] = {}
    with override_settings(REACTIVE={"AUTH": {"issuers": issuers}}):

        class User:
            pk = 1
            email = ""

            def get_username(self) -> str:
                return "bench"

            def get_full_name(self) -> str:
                return ""

        cases = {
            "rs256_static_us": token(rsa_key, "static", "RS256", None),
            "rs256_jwks_file_us": token(rsa_key, "file", "RS256", "r"),
            "es256_jwks_file_us": token(ec_key, "ec", "ES256", "e"),
            "hs256_server_us": tokens.issue_token(User())[0],
        }
        for name, value in cases.items():
            verifier.verify(value)  # warm the caches
            best = min(timeit.repeat(lambda v=value: verifier.verify(v), number=calls, repeat=5))
            results[name] = round(best / calls * 1e6, 1)
        # baseline: PyJWT alone, key object in hand (what a verify cannot go below)
        raw = cases["rs256_static_us"]
        public = rsa_key.public_key()

        def plain() -> None:
            jwt.decode(raw, public, algorithms=["RS256"], audience="a", issuer="static")

        best = min(timeit.repeat(plain, number=calls, repeat=5))
        results["pyjwt_decode_rs256_us"] = round(best / calls * 1e6, 1)
    return results


def ws_auth_env() -> dict[str, str]:
    """The server settings `ws_auth_cost` needs: an RS256 issuer (static key), an HS256 one."""
    pem = _ws_rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    issuers = [
        {"issuer": "bench-rs", "audience": "bench", "keys": [pem.decode()]},
        {"issuer": "bench-hs", "audience": "bench", "secret": WS_SECRET},
    ]
    return {"REACTIVE_TEST_AUTH": json.dumps({"issuers": issuers})}


def _ws_token(kind: str) -> str | None:
    now = int(time.time())
    if kind == "none":
        return None
    iss = "bench-rs" if kind == "rs256" else "bench-hs"
    claims = {"iss": iss, "sub": "bench-user", "aud": "bench", "iat": now, "exp": now + 3600}
    if kind == "rs256":
        return jwt.encode(claims, _ws_rsa, algorithm="RS256")
    return jwt.encode(claims, WS_SECRET, algorithm="HS256")


async def _first_transition(ws_url: str, token: str | None) -> float:
    import websockets

    async with websockets.connect(ws_url + "/api/sync") as ws:
        started = time.perf_counter()
        frames: list[dict[str, Any]] = [
            {"type": "Connect", "sessionId": os.urandom(8).hex(), "connectionCount": 0}
        ]
        if token is not None:
            frames.append(
                {"type": "Authenticate", "tokenType": "User", "value": token, "baseVersion": 0}
            )
        frames.append(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {"type": "Add", "queryId": 0, "udfPath": "testapp:whoami", "args": [{}]}
                ],
            }
        )
        for frame in frames:
            await ws.send(json.dumps(frame))
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "AuthError":
                raise RuntimeError(f"token refused: {message}")
            if message["type"] == "Transition" and message["endVersion"]["querySet"] == 1:
                elapsed = time.perf_counter() - started
                value = message["modifications"][0]["value"]
                assert (value is None) == (token is None), value
                return elapsed


def ws_auth_cost(server: Server, rounds: int = 300) -> dict[str, Any]:
    """Open → first Transition, ms, per kind of token (the server needs `ws_auth_env`)."""
    import asyncio
    import statistics

    kinds = ("none", "rs256", "hs256")
    samples: dict[str, list[float]] = {k: [] for k in kinds}

    async def run() -> None:
        for _ in range(20):  # warm-up: caches, the listener, the worker threads
            for kind in kinds:
                await _first_transition(server.ws, _ws_token(kind))
        for _ in range(rounds):
            for kind in kinds:
                samples[kind].append(await _first_transition(server.ws, _ws_token(kind)))

    asyncio.run(run())
    out: dict[str, Any] = {"connections_per_kind": rounds}
    for kind, values in samples.items():
        values.sort()
        out[f"{kind}_median_ms"] = round(statistics.median(values) * 1000, 2)
        out[f"{kind}_p95_ms"] = round(values[int(len(values) * 0.95) - 1] * 1000, 2)
    for kind in ("rs256", "hs256"):
        out[f"{kind}_extra_median_ms"] = round(out[f"{kind}_median_ms"] - out["none_median_ms"], 2)
    return out


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    print(json.dumps(auth_cost(), indent=2))
    from .servers import setup_database, start_server

    live = start_server(setup_database(), 8797, "daphne", ws_auth_env())
    try:
        print(json.dumps(ws_auth_cost(live), indent=2))
    finally:
        live.stop()
