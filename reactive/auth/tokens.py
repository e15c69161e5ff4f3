"""The server's own short-lived JWTs, for a logged-in Django user (`/api/auth/token`).

They are signed with ``REACTIVE["AUTH"]["signing_key"]`` (a PEM RSA or EC private key: RS256 or
ES256), or by default with HS256 and a key derived from ``SECRET_KEY`` (so rotating SECRET_KEY
invalidates them). Their `iss` is ``SESSION_ISSUER`` and `sub` the user's primary key, so the
identity a token gives is the one the session gives (same `tokenIdentifier`). `server_key`
is what `reactive.auth.jwt` verifies them with.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings
from django.utils.crypto import salted_hmac

from ..conf import reactive_settings

#: The `aud` of the server's own tokens.
AUDIENCE = "reactive"


@functools.lru_cache(maxsize=4)
def _keys(pem: str | None, secret_key: str) -> tuple[str, Any, Any]:
    """(algorithm, signing key, verifying key) for a configured PEM, or the SECRET_KEY default."""
    if pem is None:
        derived = salted_hmac(
            "reactive.auth.tokens", "signing-key", secret=secret_key, algorithm="sha256"
        ).digest()
        return "HS256", derived, derived
    private = load_pem_private_key(pem.encode(), password=None)
    if isinstance(private, rsa.RSAPrivateKey):
        return "RS256", private, private.public_key()
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return "ES256", private, private.public_key()
    raise ValueError("signing_key must be an RSA or EC private key")


def server_key() -> tuple[str, Any]:
    """The algorithm and key that verify the server's own tokens."""
    algorithm, _, public = _keys(reactive_settings.AUTH.signing_key, settings.SECRET_KEY)
    return algorithm, public


def signing_problems() -> list[str]:
    """Why the configured signing_key cannot sign, for the system check."""
    pem = reactive_settings.lenient.AUTH.signing_key
    if pem is None:
        return []
    try:
        _keys(pem, settings.SECRET_KEY)
    except (ValueError, TypeError) as exc:
        return [f"REACTIVE['AUTH']['signing_key']: not a usable PEM private key ({exc})"]
    return []


def issue_token(user: Any) -> tuple[str, int]:
    """A signed JWT for an authenticated Django user, and when it expires (ms since the epoch)."""
    auth = reactive_settings.AUTH
    algorithm, private, _ = _keys(auth.signing_key, settings.SECRET_KEY)
    now = int(time.time())
    expires = now + int(auth.token_lifetime_seconds)
    username = user.get_username()
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    claims: dict[str, Any] = {
        "iss": reactive_settings.SESSION_ISSUER,
        "sub": str(user.pk),
        "aud": AUDIENCE,
        "iat": now,
        "exp": expires,
        "name": full_name or username,
        "preferred_username": username,
    }
    if getattr(user, "email", None):
        claims["email"] = user.email
    return jwt.encode(claims, private, algorithm=algorithm), expires * 1000
