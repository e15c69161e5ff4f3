"""What verifying a Bearer JWT (`reactive.auth.jwt.verify`) costs per call, keys cached.

RS256 (2048-bit) from a static PEM key and from a JWKS file (the cached path a JWKS URL takes
too, once fetched), ES256 (P-256) from a JWKS file, and the server's own HS256 tokens. Each
figure is the best of 5 rounds of 2,000 calls, in µs; `pyjwt_decode_rs256_us` is PyJWT's own
`jwt.decode` with the key object in hand, the floor. No database: only settings are read.

    python -m bench.auth          # standalone (tests.settings)
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


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    print(json.dumps(auth_cost(), indent=2))
