"""Document ids: opaque, stable strings that name their table.

An id packs a 3-byte tag of the table name, the row's primary key and a 2-byte check into
lowercase base32, e.g. `"q6v3kqaaaaaaaarmpe"`. The tag lets `v.id("messages")` and
`normalize_id` tell an id of one table from another without a query, and `db.get(id)` find the
table; the check rejects typos. Integer, UUID and string primary keys are supported. Pure functions.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

_INT, _UUID, _STR = 0, 1, 2


def table_tag(table: str) -> bytes:
    return hashlib.blake2s(table.encode(), digest_size=3).digest()


def _check(payload: bytes) -> bytes:
    return hashlib.blake2s(payload, digest_size=2, person=b"rxid").digest()


def encode_id(table: str, pk: Any) -> str:
    """Encode ``pk`` of ``table`` as an id string."""
    if isinstance(pk, bool):
        raise TypeError("a bool is not a primary key")
    if isinstance(pk, int):
        kind, body = _INT, pk.to_bytes(8, "big", signed=True).lstrip(b"\x00") or b"\x00"
        if pk < 0:
            body = pk.to_bytes(8, "big", signed=True)
    elif isinstance(pk, uuid.UUID):
        kind, body = _UUID, pk.bytes
    elif isinstance(pk, str):
        kind, body = _STR, pk.encode()
    else:
        raise TypeError(f"cannot make an id from a {type(pk).__name__} primary key")
    payload = table_tag(table) + bytes([kind]) + body
    return base64.b32encode(payload + _check(payload)).decode().rstrip("=").lower()


def decode_id(value: Any) -> tuple[bytes, Any] | None:
    """Return ``(table_tag, pk)`` for a well-formed id, else None."""
    if not isinstance(value, str) or not 8 <= len(value) <= 200 or not value.isalnum():
        return None
    text = value.upper()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        return None
    if len(raw) < 7:
        return None
    payload, check = raw[:-2], raw[-2:]
    if _check(payload) != check:
        return None
    tag, kind, body = payload[:3], payload[3], payload[4:]
    if kind == _INT and 1 <= len(body) <= 8:
        signed = len(body) == 8
        return tag, int.from_bytes(body, "big", signed=signed)
    if kind == _UUID and len(body) == 16:
        return tag, uuid.UUID(bytes=body)
    if kind == _STR:
        try:
            return tag, body.decode()
        except UnicodeDecodeError:
            return None
    return None


def pk_of(table: str, value: Any) -> Any | None:
    """The primary key if ``value`` is an id of ``table``, else None."""
    decoded = decode_id(value)
    if decoded is None or decoded[0] != table_tag(table):
        return None
    return decoded[1]
