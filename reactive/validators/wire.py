"""Which declared types a Convex value can ever satisfy, and which tables `v.id` names.

A Convex value is null, a float64, an int64, a boolean, a string, bytes, an array or an object
with string keys; decoded, that is None, float, int, bool, str, bytes, list or dict. Arguments
are validated strictly, so a type hint or validator naming anything else (a set, a tuple, a
datetime, a Decimal, an enum, a dataclass or any other class) could never be satisfied, and
every call would fail. `wire_problem` finds such a type and says what to declare instead;
`id_tables` lists the tables that `v.id(...)` validators name, for the system check. Results are
checked too, but they may also hold what `values.encode` converts (tuples, Decimal, dates and
times, UUID, enums over str or numbers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import types
import typing
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ..values import Int64
from .builders import (
    ObjectValidator,
    Validator,
    _Array,
    _Id,
    _Literal,
    _Optional,
    _PythonType,
    _Record,
    _String,
    _Union,
)

_SCALARS: tuple[Any, ...] = (
    str,
    int,
    float,
    bool,
    bytes,
    type(None),
    None,
    Any,
    object,
    list,
    dict,
)
_INSTEAD: dict[type, str] = {
    set: "Convex values have no sets; declare a list",
    frozenset: "Convex values have no sets; declare a list",
    tuple: "arrays arrive as lists; declare list[...]",
    dt.datetime: "declare a float (ms since the epoch, like _creationTime) or an ISO str and "
    "convert it",
    dt.date: "declare an ISO str and convert it",
    dt.time: "declare an ISO str and convert it",
    dt.timedelta: "declare a float number of ms",
    decimal.Decimal: "declare a float or a str",
    uuid.UUID: "declare a str",
}


def _name(t: Any) -> str:
    if isinstance(t, type) and not typing.get_args(t):
        return t.__qualname__
    return repr(t).replace("typing.", "")


# What a result may hold besides Convex values: `values.encode` converts them.
_ENCODED: tuple[type, ...] = (tuple, decimal.Decimal, dt.date, dt.time, uuid.UUID)


def wire_problem(t: Any, *, result: bool = False) -> str | None:
    """Why no Convex value can satisfy the annotation or validator ``t``, or None.

    Args:
        t: a type hint or a `v.*` validator.
        result: check a function's result instead of an argument.
    """
    return _walk(t, set(), result)


def _walk(t: Any, seen: set[int], result: bool = False) -> str | None:
    if isinstance(t, Validator):
        return _walk_validator(t, seen, result)
    if isinstance(t, (str, typing.ForwardRef)):
        text = t if isinstance(t, str) else t.__forward_arg__
        return f"{text!r} is a string, not a type or validator (write v.string(), str, ...)"
    if any(t is s for s in _SCALARS):
        return None
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Annotated:
        inner = [m for m in t.__metadata__ if isinstance(m, Validator)]
        return _walk(inner[-1] if inner else args[0], seen, result)
    if origin in (typing.Union, types.UnionType):
        return _first(_walk(a, seen, result) for a in args)
    if origin is typing.Literal:
        bad = [a for a in args if not isinstance(a, (str, int, float, bool, type(None)))]
        return f"Literal value {bad[0]!r} is not a Convex value" if bad else None
    if origin in (list, Sequence):
        return _first(_walk(a, seen, result) for a in args)
    if origin in (dict, Mapping):
        if args and not _string_key(args[0]):
            return f"{_name(t)}: object keys arrive as strings; declare dict[str, {_name(args[1])}]"
        return _first(_walk(a, seen, result) for a in args[1:])
    if origin is tuple and result:
        return _first(_walk(a, seen, result) for a in args if a is not Ellipsis)
    if origin is not None and isinstance(origin, type) and origin in _INSTEAD:
        return f"{_name(t)} is not a Convex value: {_INSTEAD[origin]}"
    if not isinstance(t, type):
        return None  # a construct pydantic understands (NewType, TypeVar, ...); let it decide
    return _walk_class(t, seen, result)


def _walk_class(t: type, seen: set[int], result: bool) -> str | None:
    if result and (
        issubclass(t, _ENCODED) or (issubclass(t, enum.Enum) and issubclass(t, (str, int, float)))
    ):
        return None
    for base, advice in _INSTEAD.items():
        if issubclass(t, base):
            return f"{_name(t)} is not a Convex value: {advice}"
    if id(t) in seen:
        return None
    seen.add(id(t))
    if issubclass(t, BaseModel):
        return _first(_walk(f.annotation, seen, result) for f in t.model_fields.values())
    if typing.is_typeddict(t):
        return _first(_walk(a, seen, result) for a in typing.get_type_hints(t).values())
    if issubclass(t, Int64):
        return "Int64 is not a type hint; declare v.int64() (or int, which also takes a float64)"
    if hasattr(t, "__get_pydantic_core_schema__"):
        return None  # the class says itself what it accepts
    if issubclass(t, enum.Enum):
        values = ", ".join(repr(m.value) for m in t)
        return (
            f"{_name(t)} is an enum, and clients send its values, never its members; "
            f"declare Literal[{values}]"
        )
    kind = "a dataclass" if dataclasses.is_dataclass(t) else "a class"
    return (
        f"{_name(t)} is {kind}, and no value arriving over the wire is an instance of it; "
        "declare a pydantic BaseModel, a TypedDict or v.object({...})"
    )


def _walk_validator(t: Validator, seen: set[int], result: bool) -> str | None:
    if isinstance(t, _PythonType):
        return _walk(t.annotation, seen, result)
    if isinstance(t, (_Array, _Optional)):
        return _walk_validator(t.item if isinstance(t, _Array) else t.inner, seen, result)
    if isinstance(t, ObjectValidator):
        return _first(_walk_validator(f, seen, result) for f in t.fields.values())
    if isinstance(t, _Union):
        return _first(_walk_validator(m, seen, result) for m in t.members)
    if isinstance(t, _Record):
        if not _string_key(t.keys):
            return "v.record() keys arrive as strings; use v.string(), v.id(...) or literals"
        return _walk_validator(t.values, seen, result)
    return None


def _string_key(t: Any) -> bool:
    if t is str or t is Any or isinstance(t, (_String, _Id)):
        return True
    if isinstance(t, _Literal):
        return isinstance(t.value, str)
    if isinstance(t, _PythonType):
        return _string_key(t.annotation)
    if isinstance(t, _Union):
        return all(_string_key(m) for m in t.members)
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Literal:
        return all(isinstance(a, str) for a in args)
    if origin in (typing.Union, types.UnionType):
        return all(_string_key(a) for a in args)
    return False


def _first(problems: Iterator[str | None]) -> str | None:
    return next((p for p in problems if p is not None), None)


def id_tables(t: Any) -> Iterator[str | type]:
    """The table names of every `v.id(...)` inside the annotation or validator ``t`` (or the
    model class of one whose model is not registered as a table)."""
    if isinstance(t, _Id):
        yield t.names()
    elif isinstance(t, _PythonType):
        yield from id_tables(t.annotation)
    elif isinstance(t, _Array):
        yield from id_tables(t.item)
    elif isinstance(t, _Optional):
        yield from id_tables(t.inner)
    elif isinstance(t, ObjectValidator):
        for f in t.fields.values():
            yield from id_tables(f)
    elif isinstance(t, _Union):
        for m in t.members:
            yield from id_tables(m)
    elif isinstance(t, _Record):
        yield from id_tables(t.keys)
        yield from id_tables(t.values)
    elif not isinstance(t, Validator):
        if typing.get_origin(t) is typing.Annotated:
            for m in t.__metadata__:
                yield from id_tables(m)
        for a in typing.get_args(t):
            yield from id_tables(a)
