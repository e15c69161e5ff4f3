"""Convex values in Python, and their JSON encodings on the wire.

Convex has two number types: Float64 (a plain JSON number) and Int64 (`{"$integer": base64}`).
Python has one `int`, so reactive marks Int64 explicitly with `Int64`, an `int` subclass:
decoding `$integer` gives `Int64`, and encoding an `Int64` gives `$integer` again, so values
round-trip. A plain Python `int` (a Django IntegerField, a count) is a number on the wire, as the
official clients expect (written `3.0`, as the Python client accepts only floats); one beyond
±2**53 cannot be a float64 exactly and is refused rather than silently rounded. Bytes travel as
`{"$bytes": base64}`; NaN, ±Infinity and -0.0 as `$float`. An object with a
`__convex_value__()` method (such as `auth.Identity`) is sent as the value that method returns.

Two output formats, as Convex's HTTP API: `convex_encoded_json` (the above) and `json` ("clean"
export: Int64 as a decimal string, bytes as a base64 string).
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import math
import struct
import uuid
from collections.abc import Mapping
from typing import Any

from .errors import ValueEncodingError as ValueEncodingError  # re-exported: old import path

MAX_SAFE_INTEGER = 2**53
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Int64(int):
    """A Convex Int64 (JS `bigint`): an `int` that is sent as `{"$integer": ...}`."""

    def __new__(cls, value: int = 0) -> Int64:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"Int64 needs an int, not {type(value).__name__}")
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"{value} is outside the Int64 range")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"Int64({int(self)})"


class WholeFloat(int):
    """A whole float64 read as an ``int``: it prints as JavaScript prints it (``4``) and
    computes as an int, but stays a Convex number: `v.int64()` refuses it, as Convex refuses
    a number for a bigint, and it encodes as a float64."""

    __slots__ = ()


def whole(value: float) -> int | float:
    """A float64 that is a whole number as a `WholeFloat` (``4.0`` → ``4``); others (fractions,
    -0.0, NaN, ±Infinity, beyond ±2**53) unchanged. Both encode the same."""
    if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER and (value or not _negative(value)):
        return WholeFloat(value)
    return value


def _negative(value: float) -> bool:
    return math.copysign(1, value) < 0


def _check_key(key: Any, path: str) -> str:
    if not isinstance(key, str):
        raise ValueEncodingError(f"object keys must be strings, got {type(key).__name__} at {path}")
    if key.startswith("$"):
        raise ValueEncodingError(f"object key {key!r} at {path} starts with '$', which is reserved")
    if len(key) > 1024 or not all(32 <= ord(c) <= 126 for c in key):
        raise ValueEncodingError(
            f"object key {key!r} at {path} must be at most 1024 printable ASCII characters"
        )
    return key


def _float_json(value: float) -> Any:
    if math.isnan(value) or math.isinf(value) or (value == 0 and _negative(value)):
        return {"$float": base64.b64encode(struct.pack("<d", value)).decode()}
    return value


def encode(value: Any, *, clean: bool = False, path: str = "value") -> Any:
    """Python value → JSON-ready value (`convex_encoded_json`, or the `json` export if `clean`)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Int64):
        if clean:
            return str(int(value))
        return {"$integer": base64.b64encode(struct.pack("<q", value)).decode()}
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueEncodingError(
                f"integer {value} at {path} does not fit a float64 exactly; wrap it in Int64"
            )
        # As a float (`3.0` on the wire): a JSON integer is not a Convex value for the Python
        # client, which rejects it while decoding; JS reads 3.0 and 3 alike.
        return float(value)
    if isinstance(value, float):
        return value if clean and math.isfinite(value) else _float_json(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        b64 = base64.b64encode(bytes(value)).decode()
        return b64 if clean else {"$bytes": b64}
    if isinstance(value, Mapping):
        return {
            _check_key(k, path): encode(v, clean=clean, path=f"{path}.{k}")
            for k, v in value.items()
            if v is not _UNDEFINED
        }
    if isinstance(value, (list, tuple)):
        return [encode(v, clean=clean, path=f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, decimal.Decimal):
        return _float_json(float(value))
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    convex = getattr(type(value), "__convex_value__", None)  # e.g. auth.Identity
    if callable(convex):
        return encode(convex(value), clean=clean, path=path)
    dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(dump):
        return encode(dump(), clean=clean, path=path)
    raise ValueEncodingError(f"{type(value).__name__} at {path} is not a Convex value")


MAX_DEPTH = 64  # Convex's limit on the nesting of values


def decode(value: Any, *, path: str = "value") -> Any:
    """JSON value (convex-encoded) → Python value. Plain JSON numbers are float64."""
    return _decode(value, path, 0)


def _decode(value: Any, path: str, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _check_string(value, path)
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise ValueEncodingError(
                f"the number at {path} is too large for a float64; send integers beyond "
                '±2^53 as {"$integer": ...} (an Int64)'
            ) from None
    if depth >= MAX_DEPTH:
        raise ValueEncodingError(f"the value at {path} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, list):
        return [_decode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key.startswith("$"):
                return _decode_special(key, inner, path)
        return {_check_key(k, path): _decode(v, f"{path}.{k}", depth + 1) for k, v in value.items()}
    raise ValueEncodingError(f"{type(value).__name__} at {path} is not JSON")


def _check_string(value: str, path: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueEncodingError(
            f"the string at {path} is not valid Unicode (a lone surrogate)"
        ) from None
    return value


def _b64(inner: Any, size: int | None, path: str, key: str) -> bytes:
    try:
        raw = base64.b64decode(inner, validate=True) if isinstance(inner, str) else None
    except ValueError:
        raw = None
    if raw is None or (size is not None and len(raw) != size):
        want = f"{size} bytes of " if size else ""
        raise ValueEncodingError(f"{key} at {path} must be {want}base64")
    return raw


def _decode_special(key: str, inner: Any, path: str) -> Any:
    if key == "$integer":
        return Int64(struct.unpack("<q", _b64(inner, 8, path, key))[0])
    if key == "$bytes":
        return _b64(inner, None, path, key)
    if key == "$float":
        result = struct.unpack("<d", _b64(inner, 8, path, key))[0]
        if math.isfinite(result) and not (result == 0 and math.copysign(1, result) < 0):
            raise ValueEncodingError(f"$float at {path} must hold NaN, ±Infinity or -0")
        return result
    raise ValueEncodingError(f"unknown special key {key!r} at {path}")


class _Undefined:
    """Marks an absent value (Convex `undefined`): dropped from objects when encoding."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


_UNDEFINED = _Undefined()
UNDEFINED: Any = _UNDEFINED
