"""Upload URL tokens: signed (`django.core.signing`), short-lived, naming a one-use nonce.

A token carries a random nonce and its expiry (ms since the epoch), signed with ``SECRET_KEY``
under a salt of its own, so a token cannot be forged, altered, or mistaken for another signed
value. The expiry is in the signed payload (not `signing`'s ``max_age``), so a URL keeps the
lifetime it was made with. That the nonce is used once is the database's job (`rows.insert`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core import signing

from ..clock import now_ms
from ..errors import RequestError

SALT = "reactive.storage.upload-url"


@dataclass(frozen=True)
class Token:
    nonce: str
    expires: float  # ms since the epoch


def make_token(seconds: float) -> str:
    """A new token, good for ``seconds``."""
    payload = {"n": secrets.token_urlsafe(18), "e": now_ms() + seconds * 1000.0}
    return signing.dumps(payload, salt=SALT)


def read_token(token: str | None) -> Token:
    """The token's nonce and expiry; `RequestError` if it is missing, forged or expired."""
    if not token:
        raise RequestError("InvalidUploadUrl", "The upload URL has no token", 400)
    try:
        payload = signing.loads(token, salt=SALT)
        nonce, expires = str(payload["n"]), float(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise RequestError(
            "InvalidUploadUrl", "The upload URL's token is not valid (altered or forged)", 403
        ) from None
    if expires < now_ms():
        raise RequestError(
            "UploadUrlExpired", "The upload URL has expired: generate a new one", 410
        )
    return Token(nonce, expires)
