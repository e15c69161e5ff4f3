"""TypeScript types from validators, type hints and Django fields. Pure: no files, no Django setup.

The mapping follows Convex's codegen (`validatorToType`): a float64 is ``number``, an int64
``bigint``, bytes ``ArrayBuffer``, ``v.id("t")`` ``Id<"t">``, objects list their fields (``?``
for optional ones), records are ``Record<K, V>`` and unions are joined with ``|``. A Python
``int`` is a ``number``: the clients send every number as a float64 and the handler gets an int.
Results may also hold what `values.encode` converts: dates, times and UUIDs arrive as strings,
Decimals as numbers, tuples as arrays, enums as their values. Anything else is ``any``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import models
from pydantic import BaseModel

from ..validators import Validator
from ..validators.builders import (
    ObjectValidator,
    _Any,
    _Array,
    _Boolean,
    _Bytes,
    _Id,
    _Int64,
    _IntNumber,
    _Literal,
    _Null,
    _Number,
    _Optional,
    _PythonType,
    _Record,
    _String,
    _Union,
)

#: How a table name becomes a type: ``Id<"t">`` for a table in the data model, else ``string``.
IdType = Callable[[str], str]

_SIMPLE: dict[type[Validator], str] = {
    _String: "string",
    _Number: "number",
    _IntNumber: "number",
    _Int64: "bigint",
    _Boolean: "boolean",
    _Null: "null",
    _Bytes: "ArrayBuffer",
    _Any: "any",
}

_HINTS: dict[Any, str] = {
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    bytes: "ArrayBuffer",
    type(None): "null",
    None: "null",
    Any: "any",
    object: "any",
    list: "Array<any>",
    dict: "Record<string, any>",
    # results only (values.encode converts them)
    dt.datetime: "string",
    dt.date: "string",
    dt.time: "string",
    uuid.UUID: "string",
    decimal.Decimal: "number",
}


def literal(value: Any) -> str:
    """A TypeScript literal type for a Convex value (json.dumps quotes strings as TS does)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "number"  # NaN and ±Infinity have no literal type
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def key(name: str) -> str:
    """A property name: bare when it is an identifier, quoted otherwise."""
    return name if name.isidentifier() and name.isascii() else json.dumps(name)


def union(parts: Sequence[str]) -> str:
    unique = list(dict.fromkeys(parts))
    if "any" in unique:
        return "any"
    return " | ".join(unique) if unique else "never"


def obj(fields: Mapping[str, tuple[str, bool]], *, open_keys: bool = False) -> str:
    """``{ a: T; b?: U }`` from name → (type, optional); ``open_keys``: any other key too."""
    if not fields:
        return "Record<string, any>" if open_keys else "Record<string, never>"
    parts = [f"{key(n)}{'?' if opt else ''}: {t}" for n, (t, opt) in fields.items()]
    if open_keys:
        parts.append("[key: string]: any")
    return "{ " + "; ".join(parts) + " }"


def _array(item: str) -> str:
    return f"Array<{item}>"


def from_validator(val: Validator, id_type: IdType) -> str:
    """The TypeScript type of the values a validator accepts."""
    simple = _SIMPLE.get(type(val))
    if simple is not None:
        return simple
    if isinstance(val, _Id):
        name = val.names()
        return id_type(name) if isinstance(name, str) else "string"
    if isinstance(val, _Literal):
        return literal(val.value)
    if isinstance(val, _Optional):
        return from_validator(val.inner, id_type)
    if isinstance(val, _Array):
        return _array(from_validator(val.item, id_type))
    if isinstance(val, _Record):
        return f"Record<{from_validator(val.keys, id_type)}, {from_validator(val.values, id_type)}>"
    if isinstance(val, _Union):
        return union([from_validator(m, id_type) for m in val.members])
    if isinstance(val, ObjectValidator):
        return obj({n: (from_validator(f, id_type), f.optional) for n, f in val.fields.items()})
    if isinstance(val, _PythonType):
        return from_hint(val.annotation, id_type)
    return "any"  # a validator class of a project's own: unknown shape


def from_hint(hint: Any, id_type: IdType, seen: frozenset[int] = frozenset()) -> str:
    """The TypeScript type of a type hint (argument or result)."""
    if isinstance(hint, Validator):
        return from_validator(hint, id_type)
    try:
        simple = _HINTS.get(hint)
    except TypeError:  # an unhashable construct
        simple = None
    if simple is not None:
        return simple
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        found = [m for m in hint.__metadata__ if isinstance(m, Validator)]
        return from_validator(found[-1], id_type) if found else from_hint(args[0], id_type, seen)
    if origin in (typing.Union, types.UnionType):
        return union([from_hint(a, id_type, seen) for a in args])
    if origin is typing.Literal:
        return union([literal(a) for a in args])
    if origin in (list, Sequence, set, frozenset):
        return _array(from_hint(args[0], id_type, seen) if args else "any")
    if origin is tuple:
        items = [a for a in args if a is not Ellipsis]
        return _array(union([from_hint(a, id_type, seen) for a in items]) if items else "any")
    if origin in (dict, Mapping):
        if len(args) == 2:
            k = from_hint(args[0], id_type, seen)
            return f"Record<{k}, {from_hint(args[1], id_type, seen)}>"
        return "Record<string, any>"
    if isinstance(hint, type):
        return _from_class(hint, id_type, seen)
    return "any"


def _from_class(cls: type, id_type: IdType, seen: frozenset[int]) -> str:
    if id(cls) in seen:
        return "any"  # a recursive model: TypeScript would need a named type
    seen = seen | {id(cls)}
    if issubclass(cls, enum.Enum):
        return union([literal(m.value) for m in cls])
    if issubclass(cls, BaseModel):
        return obj(
            {
                f.alias or n: (from_hint(f.annotation, id_type, seen), not f.is_required())
                for n, f in cls.model_fields.items()
            }
        )
    if typing.is_typeddict(cls):
        required: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
        hints = typing.get_type_hints(cls, include_extras=True)
        return obj({n: (from_hint(h, id_type, seen), n not in required) for n, h in hints.items()})
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls, include_extras=True)
        return obj(
            {
                f.name: (from_hint(hints[f.name], id_type, seen), False)
                for f in dataclasses.fields(cls)
            }
        )
    return "any"


_FIELD_TYPES: tuple[tuple[type[models.Field[Any, Any]], str], ...] = (
    (models.BooleanField, "boolean"),
    (models.BigIntegerField, "bigint"),  # before IntegerField: documents hold an Int64
    (models.BigAutoField, "bigint"),
    (models.IntegerField, "number"),
    (models.AutoField, "number"),
    (models.SmallAutoField, "number"),
    (models.FloatField, "number"),
    (models.DecimalField, "number"),
    (models.BinaryField, "ArrayBuffer"),
    (models.JSONField, "any"),
    (models.DateTimeField, "string"),
    (models.DateField, "string"),
    (models.TimeField, "string"),
    (models.UUIDField, "string"),
    (models.GenericIPAddressField, "string"),
    (models.CharField, "string"),
    (models.TextField, "string"),
)


def from_field(field: models.Field[Any, Any], target: str | None, id_type: IdType) -> str:
    """A document value's type for a Django field; ``target`` is the table a foreign key names
    (None when the related model is not a table: its key itself is the value)."""
    if field.is_relation:
        if target is not None:
            ts = id_type(target)
        else:  # the related model's key, as the document holds it
            related = field.target_field  # type: ignore[attr-defined]
            text = isinstance(related, (models.UUIDField, models.CharField))
            ts = "string" if text else "number"
    elif field.choices and not isinstance(field, models.BooleanField):
        values = [value for value, _ in _flat_choices(field)]
        if isinstance(field, models.BigIntegerField):  # int64 values: v.literal(1n) is 1n
            ts = union([f"{int(value)}n" for value in values])
        else:
            ts = union([literal(value) for value in values])
    elif type(field).__name__ == "VectorField":
        ts = "Array<number>"
    else:
        ts = next((t for cls, t in _FIELD_TYPES if isinstance(field, cls)), "any")
    return f"{ts} | null" if field.null and ts != "any" else ts


def _flat_choices(field: models.Field[Any, Any]) -> list[tuple[Any, Any]]:
    flat: list[tuple[Any, Any]] = []
    for value, label in field.choices or ():
        if isinstance(label, (list, tuple)):  # a named group
            flat.extend(label)
        else:
            flat.append((value, label))
    return flat
