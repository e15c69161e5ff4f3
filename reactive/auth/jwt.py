"""Verifying a bearer JWT into an `Identity`, or refusing it with `RequestError` (401).

The token's (unverified) `iss` picks the issuer: the server's own (``SESSION_ISSUER``, keys from
`tokens.server_key`) or one configured in ``REACTIVE["AUTH"]["issuers"]`` (`issuers`); any other
is refused. Its keys come from a JWKS URL (PyJWT's `PyJWKClient`: cached, fetched again when a
token names an unknown `kid`), a JWKS file (read again when it changes), or static keys. PyJWT
then checks the signature under the issuer's algorithm allow-list, `iss`, `aud`, `exp` and `nbf`
(with ``leeway_seconds``), and that `exp`, `iss` and `sub` are present. Whatever fails, the
caller gets one of two fixed messages (Convex's), never the reason: that goes to the log.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWK, PyJWKClient, PyJWKSet

from ..conf import reactive_settings
from ..errors import RequestError
from . import issuers, tokens
from .identity import Identity, identity_from_claims

logger = logging.getLogger(__name__)

UNVERIFIED = (
    "Could not verify OIDC token claim. Check that the token signature is valid and the token "
    "hasn't expired."
)
NO_PROVIDER = (
    "No auth provider found matching the given token. Check that your JWT's issuer and audience "
    "match one of your configured providers."
)
MALFORMED = "The Authorization header is malformed: expected 'Bearer <token>'."

_jwks_clients: dict[str, PyJWKClient] = {}
_jwks_files: dict[str, tuple[float, PyJWKSet]] = {}


def refused(message: str = UNVERIFIED) -> RequestError:
    return RequestError("Unauthenticated", message, 401)


def bearer_token(header: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (MALFORMED otherwise)."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise refused(MALFORMED)
    return token


def _client(url: str, cooldown: float) -> PyJWKClient:
    client = _jwks_clients.get(url)
    if client is None:
        client = PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=10)
        client.cooldown_duration = cooldown
        _jwks_clients[url] = client
    return client


def _file_keys(path: str) -> PyJWKSet:
    mtime = os.stat(path).st_mtime
    cached = _jwks_files.get(path)
    if cached is None or cached[0] != mtime:
        with open(path, encoding="utf-8") as f:
            cached = _jwks_files[path] = (mtime, PyJWKSet.from_dict(json.load(f)))
    return cached[1]


def _from_set(keys: PyJWKSet, kid: Any) -> Any:
    for key in keys.keys:
        if kid is None or key.key_id == kid:
            return key.key
    raise jwt.InvalidKeyError(f"no key with kid {kid!r}")


def _candidate_keys(config: issuers.IssuerConfig, token: str, kid: Any) -> list[Any]:
    if config.source == "jwks_url":
        client = _client(config.value, config.jwks_cooldown_seconds)
        return [client.get_signing_key_from_jwt(token).key]
    if config.source == "jwks_file":
        return [_from_set(_file_keys(config.value), kid)]
    if config.source == "secret":
        return [config.value]
    keys = _static_keys(json.dumps(config.value))
    named = [key for key_id, key in keys if kid is not None and key_id == kid]
    return named or [key for key_id, key in keys if kid is None or key_id is None]


@functools.lru_cache(maxsize=64)
def _static_keys(keys_json: str) -> list[tuple[str | None, Any]]:
    """(kid, key object) of an issuer's static keys, parsed once (a PEM key has no kid)."""
    out: list[tuple[str | None, Any]] = []
    for key in json.loads(keys_json):
        if isinstance(key, str):
            out.append((None, load_pem_public_key(key.encode())))
        else:
            jwk = PyJWK.from_dict(key)
            out.append((jwk.key_id, jwk.key))
    return out


def verify(token: str) -> Identity:
    """The identity of a valid token; `RequestError` 401 for anything else."""
    return verify_expiring(token)[0]


def verify_expiring(token: str) -> tuple[Identity, float]:
    """`verify`, and until when the identity holds: the token's `exp` plus ``leeway_seconds``
    (seconds since the epoch), past which `verify` would refuse it. A WebSocket keeps the
    identity that long (`reactive.consumers`)."""
    try:
        # one parse for both (PyJWT's base64 check is most of the cost of a parse)
        parsed = jwt.decode_complete(token, options={"verify_signature": False})
        header, unverified = parsed["header"], parsed["payload"]
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        logger.info("refused a bearer token: %s", exc)
        raise refused() from None
    iss = unverified.get("iss")
    server_issuer = reactive_settings.SESSION_ISSUER
    if iss == server_issuer:
        try:
            algorithm, key = tokens.server_key()
        except (ValueError, TypeError) as exc:  # a bad signing_key: reactive.E030
            logger.warning("refused a server token: signing_key unusable (%s)", exc)
            raise refused() from None
        audience: tuple[str, ...] = (tokens.AUDIENCE,)
        algorithms: tuple[str, ...] = (algorithm,)
        keys = [key]
    else:
        config = issuers.configured_issuers().get(iss) if isinstance(iss, str) else None
        if config is None:
            logger.info("refused a bearer token from unknown issuer %r", iss)
            raise refused(NO_PROVIDER)
        audience, algorithms = config.audience, config.algorithms
        try:
            keys = _candidate_keys(config, token, header.get("kid"))
        except (jwt.PyJWTError, OSError, ValueError, TypeError) as exc:
            logger.info("refused a bearer token from %r: no key (%s)", iss, exc)
            raise refused() from None
    if header.get("alg") not in algorithms:
        logger.info("refused a bearer token from %r: alg %r", iss, header.get("alg"))
        raise refused()
    problem: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(algorithms),
                audience=list(audience),
                issuer=iss,
                leeway=reactive_settings.AUTH.leeway_seconds,
                options={"require": ["exp", "iss", "sub"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            problem = exc
            continue
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            logger.info("refused a bearer token from %r: no subject", iss)
            raise refused()
        try:
            # PyJWT takes any integer exp in the future; one no float holds is refused
            until = float(claims["exp"]) + float(reactive_settings.AUTH.leeway_seconds)
        except OverflowError:
            logger.info("refused a bearer token from %r: exp out of range", iss)
            raise refused() from None
        return identity_from_claims(claims), until
    logger.info("refused a bearer token from %r: %s", iss, problem)
    raise refused()
