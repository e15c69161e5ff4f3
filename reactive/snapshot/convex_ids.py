"""Convex's document ids (``DeveloperDocumentId``), encoded and decoded. Pure functions.

As convex-backend's ``crates/value/src/id_v6.rs`` lays them out: the table number as a VInt
(7 bits a byte, low bits first, 1 to 5 bytes), the 16-byte internal id, then a 2-byte footer,
the Fletcher-16 of all that (little-endian) XOR the version 0; the whole in Crockford's
base32, lowercase, no padding (``crates/value/src/base32.rs``). A user table's id is 32
characters (table numbers from 10001 take two VInt bytes), a system table's 31.

Our own export writes its ids in this form too (`internal_for_pk`): an integer primary key is
the internal id ``b"reactive"`` + the key in 8 bytes, a UUID key is the internal id itself, so
``npx convex import`` takes the ids and `pk_from_internal` reads the keys back.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

_RFC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_TO_CROCKFORD = str.maketrans(_RFC, _CROCKFORD)
_FROM_CROCKFORD = str.maketrans(_CROCKFORD, _RFC)
_ALPHABET = frozenset(_CROCKFORD)

#: The first number Convex gives a user table (``_tables`` lists them from there).
FIRST_TABLE_NUMBER = 10001
#: The table number our export gives `_storage` (Convex's system tables are below 10001).
STORAGE_TABLE_NUMBER = 10000
#: The first 8 bytes of the internal id of an integer key our export wrote.
MARK = b"reactive"


def _fletcher16(data: bytes) -> bytes:
    c0 = c1 = 0
    for byte in data:
        c0 = (c0 + byte) % 256
        c1 = (c1 + c0) % 256
    return bytes([c0, c1])  # (c1 << 8 | c0).to_bytes(2, "little")


def _vint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode(table_number: int, internal: bytes) -> str:
    """The Convex id of document ``internal`` (16 bytes) of table ``table_number``."""
    if not 1 <= table_number < 2**32 or len(internal) != 16:
        raise ValueError("a Convex id needs a table number in 1..2**32-1 and 16 bytes")
    body = _vint(table_number) + internal
    raw = body + _fletcher16(body)
    return base64.b32encode(raw).decode().rstrip("=").translate(_TO_CROCKFORD)


def decode(value: Any) -> tuple[int, bytes] | None:
    """``(table number, internal id)`` of a well-formed Convex id, else None."""
    if not isinstance(value, str) or not 31 <= len(value) <= 37 or not _ALPHABET >= set(value):
        return None
    text = value.translate(_FROM_CROCKFORD)
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        return None
    number, used = 0, 0
    for i, byte in enumerate(raw[:5]):
        number |= (byte & 0x7F) << (7 * i)
        used = i + 1
        if byte < 0x80:
            break
    else:
        return None
    if number == 0 or len(raw) != used + 18:
        return None
    internal = raw[used : used + 16]
    if raw[-2:] != _fletcher16(raw[:-2]) or encode(number, internal) != value:
        return None  # a typo, or not in canonical form (Convex refuses those too)
    return number, internal


def internal_for_pk(pk: Any) -> bytes | None:
    """The internal id our export writes for ``pk``; None for a key that does not fit (a
    string key: such a table keeps our own ids in the export)."""
    if isinstance(pk, int) and not isinstance(pk, bool) and -(2**63) <= pk < 2**63:
        return MARK + pk.to_bytes(8, "big", signed=True)
    if isinstance(pk, uuid.UUID):
        return pk.bytes
    return None


def pk_from_internal(internal: bytes, integer_key: bool) -> Any | None:
    """The primary key an internal id carries: an integer key our export wrote (``MARK``),
    a UUID key (any internal id, Convex's own too: it is 16 bytes); None for a document Convex
    created, going into a table with an integer key (it gets a new key)."""
    if not integer_key:
        return uuid.UUID(bytes=internal)
    if internal.startswith(MARK):
        return int.from_bytes(internal[8:], "big", signed=True)
    return None
