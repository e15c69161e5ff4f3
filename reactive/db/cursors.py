"""Cursors and keyset conditions for paginating an index range. Builds Q objects; no queries.

A cursor is opaque to clients: the index name, the order, and the last key read (or the
start/end sentinels), encrypted (AES-SIV, a key derived from ``SECRET_KEY``) and base64'd. The
last key read may be a row the caller may not read (a Python read rule filters after the read)
and holds its indexed values: encryption keeps them from the caller, as Convex encrypts its
cursors. AES-SIV is deterministic, so a re-run on unchanged data gives the same cursor.

`after_key` and `before_key` turn a key into the NULL-aware lexicographic condition "rows after
(or up to) this key in index order".
"""

from __future__ import annotations

import base64
import functools
import json
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.conf import settings
from django.db.models import Q
from django.utils.crypto import salted_hmac

from ..errors import QueryError

if TYPE_CHECKING:
    from .tables import Index, Table


# --- cursors --------------------------------------------------------------------------------

END = "END"
START = "START"


class _Start:
    """Decoded start-of-range cursor (what ``cursor: null`` means, as a string)."""


AT_START = _Start()


def encode_cursor(
    index: str, order: str, key: tuple[Any, ...] | None, *, start: bool = False
) -> str:
    """An opaque cursor: the index, the order and the last key read.

    ``key=None`` is the end of the range (the cursor of a finished page); ``start=True`` is the
    start of the range (the cursor of an empty page that read nothing).
    """
    if start:
        payload: list[Any] = [index, order, START]
    else:
        payload = [index, order, END if key is None else [_cursor_value(v) for v in key]]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    sealed = _cipher(settings.SECRET_KEY).encrypt(raw, None)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


@functools.lru_cache(maxsize=4)
def _cipher(secret_key: str) -> AESSIV:
    """AES-128-SIV keyed from ``SECRET_KEY`` (rotating it invalidates outstanding cursors)."""
    key = salted_hmac("reactive.db.cursors", "cursor-key", secret=secret_key, algorithm="sha256")
    return AESSIV(key.digest())


def _cursor_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # datetimes, UUIDs, decimals: parsed back by the column's to_python


def decode_cursor(
    table: Table, index: Index, order: str, cursor: str
) -> tuple[Any, ...] | _Start | None:
    """The key in ``cursor``: None for the end, `AT_START` for the start; QueryError otherwise."""
    try:
        sealed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        raw = _cipher(settings.SECRET_KEY).decrypt(sealed, None)
        name, cursor_order, key = json.loads(raw)
    except (ValueError, TypeError, InvalidTag):
        raise QueryError(f"InvalidCursor: {cursor!r} is not a cursor") from None
    if name != index.name or cursor_order != order:
        raise QueryError(
            f"InvalidCursor: the cursor belongs to {name!r} ({cursor_order}), not "
            f"{index.name!r} ({order}); the query changed between pages"
        )
    if key == END:
        return None
    if key == START:
        return AT_START
    if not isinstance(key, list) or len(key) != len(index.key_columns):
        raise QueryError("InvalidCursor: the cursor does not fit the index")
    fields = {f.attname: f for f in table.model._meta.concrete_fields}
    try:
        pairs = zip(index.key_columns, key, strict=True)
        # a column that is no field (a search's rank) holds a JSON number as it was written
        return tuple(
            v if v is None or c not in fields else fields[c].to_python(v) for c, v in pairs
        )
    except Exception:
        raise QueryError("InvalidCursor: the cursor does not fit the index") from None


def _equal(column: str, value: Any) -> Q:
    return Q(**{f"{column}__isnull": True}) if value is None else Q(**{column: value})


def _past(column: str, value: Any, desc: bool) -> Q:
    """Rows whose ``column`` comes strictly after ``value`` in index order (NULLs sort last)."""
    if desc:  # descending: NULLs come first, then values downwards
        return Q(**{f"{column}__isnull": False}) if value is None else Q(**{f"{column}__lt": value})
    if value is None:
        return Q(pk__in=[])  # nothing comes after NULL
    return Q(**{f"{column}__gt": value}) | Q(**{f"{column}__isnull": True})


def after_key(columns: tuple[str, ...], key: tuple[Any, ...], *, desc: bool, inclusive: bool) -> Q:
    """Rows strictly after (or at, if ``inclusive``) ``key`` in index order.

    The lexicographic expansion of ``(c1, c2, …) > (k1, k2, …)``: past on c1, or equal on c1 and
    past on c2, and so on; NULL-aware, since Postgres row comparison treats NULL as unknown.
    """
    result = Q(pk__in=[])
    for i, (col, val) in enumerate(zip(columns, key, strict=True)):
        same = Q()
        for c, v in zip(columns[:i], key[:i], strict=True):
            same &= _equal(c, v)
        result |= same & _past(col, val, desc)
    if inclusive:
        at = Q()
        for c, v in zip(columns, key, strict=True):
            at &= _equal(c, v)
        result |= at
    return result


def before_key(columns: tuple[str, ...], key: tuple[Any, ...], *, desc: bool) -> Q:
    """Rows at or before ``key`` in index order (the complement of `after_key`)."""
    return ~after_key(columns, key, desc=desc, inclusive=False)
