"""A Convex validator's JSON (its ``json`` getter, as ``schema.export()`` writes it) back to
the TypeScript that declares it, e.g. ``v.array(v.id("users"))``: for the comments of the
generated models and the error lines of the conversion."""

from __future__ import annotations

import json
from typing import Any

from ..values import decode

_SIMPLE = {
    "string": "v.string()",
    "number": "v.float64()",
    "bigint": "v.int64()",
    "boolean": "v.boolean()",
    "bytes": "v.bytes()",
    "null": "v.null()",
    "any": "v.any()",
}


def describe(validator: dict[str, Any]) -> str:
    """``{"type": "array", "value": {"type": "string"}}`` → ``v.array(v.string())``."""
    kind = validator.get("type")
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    value: Any = validator.get("value")
    if kind == "literal":
        if isinstance(value, dict) and "$integer" in value:
            return f"v.literal({int(decode(value, path='literal'))}n)"
        return f"v.literal({json.dumps(value)})"
    if kind == "id":
        return f"v.id({json.dumps(validator.get('tableName'))})"
    if kind == "array":
        return f"v.array({describe(value)})"
    if kind == "union":
        return f"v.union({', '.join(describe(m) for m in value)})"
    if kind == "record":
        values = validator["values"]["fieldType"]
        return f"v.record({describe(validator['keys'])}, {describe(values)})"
    if kind == "object":
        fields = ", ".join(f"{k}: {_field(f)}" for k, f in value.items())
        return f"v.object({{ {fields} }})" if fields else "v.object({})"
    return json.dumps(validator)


def _field(field: dict[str, Any]) -> str:
    text = describe(field["fieldType"])
    return f"v.optional({text})" if field.get("optional") else text
