"""The `v` namespace: Convex's validator builders, each a `Validator` with its pydantic schema.

``v.string()``, ``v.id("messages")``, ``v.object({...})`` and the rest build `Validator`s; every
one is also a valid type annotation (it provides its own pydantic core schema). `_PythonType`
wraps any other annotation, with ``int`` rewritten to accept an integral float (`rewrite_ints`:
the official clients send every number as a float64). ``v.id(Model)`` looks the model's table
name up in the table registry (`db/tables.py`). Compiling a function's declarations into these is
`compile.py`'s job; this module only builds validators.
"""

from __future__ import annotations

import abc
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ConfigDict, TypeAdapter
from pydantic_core import core_schema
from pydantic_core.core_schema import CoreSchema

from .. import ids
from ..db.documents import Document
from ..db.tables import tables
from ..errors import ConfigurationError
from ..values import Int64, WholeFloat, whole


class Validator(abc.ABC):
    """A Convex-style validator; usable in ``args=``/``returns=`` and as a type annotation."""

    optional = False

    @abc.abstractmethod
    def core_schema(self) -> CoreSchema:
        """The pydantic-core schema that checks (and converts) a value."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return self.core_schema()

    def describe(self) -> str:
        return type(self).__name__


def _plain(check: Callable[[Any], Any], shown: CoreSchema) -> CoreSchema:
    """A check in Python; ``shown`` is what its JSON Schema says (the admin shows it)."""
    return core_schema.no_info_plain_validator_function(check, json_schema_input_schema=shown)


class _String(Validator):
    def core_schema(self) -> CoreSchema:
        return core_schema.str_schema(strict=True)


class _Number(Validator):
    def core_schema(self) -> CoreSchema:
        def check(value: Any) -> float:
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or isinstance(value, Int64)
            ):
                raise ValueError("Input should be a number (float64)")
            return whole(float(value))  # 4.0 is 4, as JavaScript prints it

        return _plain(check, core_schema.float_schema())


class _Int64(Validator):
    def core_schema(self) -> CoreSchema:
        def check(value: Any) -> Int64:
            if isinstance(value, (bool, WholeFloat)) or not isinstance(value, int):
                raise ValueError('Input should be an int64 (bigint / {"$integer": ...})')
            return Int64(value)

        int64 = {"pydantic_js_updates": {"format": "int64"}}
        return _plain(check, core_schema.int_schema(metadata=int64))


class _IntNumber(Validator):
    """A Python ``int`` annotation: an int, or a float64 with no fractional part."""

    def core_schema(self) -> CoreSchema:
        def check(value: Any) -> int:
            if isinstance(value, bool):
                raise ValueError("Input should be an integer")
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError("Input should be an integer")

        return _plain(check, core_schema.int_schema())


class _Boolean(Validator):
    def core_schema(self) -> CoreSchema:
        return core_schema.bool_schema(strict=True)


class _Null(Validator):
    def core_schema(self) -> CoreSchema:
        return core_schema.none_schema()


class _Bytes(Validator):
    def core_schema(self) -> CoreSchema:
        return core_schema.bytes_schema(strict=True)


class _Any(Validator):
    def core_schema(self) -> CoreSchema:
        return core_schema.any_schema()


class _Id(Validator):
    """``v.id(table)``: ``table`` is a table name or a model class. A model not registered yet
    is looked up when the id is first checked (so registration order does not matter), and
    `manage.py check` reports one that never is (reactive.E020)."""

    def __init__(self, table: str | type) -> None:
        self._given = table

    @property
    def table(self) -> str:
        if isinstance(self._given, str):
            return self._given
        name = _table_name(self._given)
        self._given = name
        return name

    def names(self) -> str | type:
        """The table name, or the model class while it is not registered (for the check)."""
        if isinstance(self._given, str):
            return self._given
        try:
            return self.table
        except ConfigurationError:
            return self._given

    def core_schema(self) -> CoreSchema:
        def check(value: Any) -> str:
            table = self.table
            if not isinstance(value, str) or ids.pk_of(table, value) is None:
                raise ValueError(f"Input should be an id of table {table!r}")
            return value

        shown = {"pydantic_js_updates": {"description": f"Id of {self.describe()[3:-1]}"}}
        return _plain(check, core_schema.str_schema(metadata=shown))

    def describe(self) -> str:
        name = self.names()
        return f"id({name!r})" if isinstance(name, str) else f"id({name.__name__})"


def _table_name(table: Any) -> str:
    """The table name behind ``v.id(...)``'s argument: a name, or a model registered as a table
    (``@table`` on the model class, or ``register_table``)."""
    if isinstance(table, str) and table:
        return table
    if isinstance(table, type) and hasattr(table, "_meta"):
        found = tables.for_model(table)
        if found is None:
            raise ConfigurationError(unregistered_model(table))
        return found.name
    raise TypeError(
        f"v.id() takes a table name or a model class registered as a table, not {table!r}"
    )


def unregistered_model(model: Any) -> str:
    return (
        f"v.id({model.__name__}): the model {model._meta.label} is not registered as a "
        'table; decorate it with @table("name") or call register_table() in a models '
        "module"
    )


class _Array(Validator):
    def __init__(self, item: Validator) -> None:
        self.item = _as_validator(item)

    def core_schema(self) -> CoreSchema:
        return core_schema.list_schema(self.item.core_schema(), max_length=8192, strict=True)


class ObjectValidator(Validator):
    """``v.object({...})``; ``pick``, ``omit``, ``extend`` and ``partial`` build new ones, as
    Convex's object validators do."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = {k: _as_validator(f) for k, f in fields.items()}

    def pick(self, *keys: str) -> ObjectValidator:
        """Only the fields ``keys``."""
        return ObjectValidator({k: self.fields[k] for k in self._known(keys, "pick")})

    def omit(self, *keys: str) -> ObjectValidator:
        """Every field but ``keys``."""
        drop = set(self._known(keys, "omit"))
        return ObjectValidator({k: f for k, f in self.fields.items() if k not in drop})

    def extend(self, fields: Mapping[str, Any]) -> ObjectValidator:
        """These fields added (a field of the same name is replaced)."""
        return ObjectValidator({**self.fields, **fields})

    def partial(self) -> ObjectValidator:
        """Every field optional."""
        return ObjectValidator(
            {k: f if f.optional else _Optional(f) for k, f in self.fields.items()}
        )

    def _known(self, keys: tuple[str, ...], method: str) -> tuple[str, ...]:
        unknown = [k for k in keys if k not in self.fields]
        if unknown:
            raise ConfigurationError(
                f"v.object(...).{method}(): no field {', '.join(map(repr, unknown))} "
                f"(fields: {', '.join(self.fields) or 'none'})"
            )
        return keys

    def core_schema(self) -> CoreSchema:
        fields = {
            n: core_schema.typed_dict_field(f.core_schema(), required=not f.optional)
            for n, f in self.fields.items()
        }
        checked = core_schema.typed_dict_schema(fields, extra_behavior="forbid", strict=True)
        return core_schema.no_info_wrap_validator_function(_same_kind, checked)


def _same_kind(value: Any, check: Callable[[Any], Any]) -> Any:
    """A `Document` checked by ``v.object`` stays one (``returns=`` must not take ``doc.body``)."""
    return Document(check(value)) if isinstance(value, Document) else check(value)


class _Record(Validator):
    def __init__(self, keys: Validator, values: Validator) -> None:
        self.keys, self.values = _as_validator(keys), _as_validator(values)

    def core_schema(self) -> CoreSchema:
        return core_schema.dict_schema(
            self.keys.core_schema(), self.values.core_schema(), strict=True
        )


class _Union(Validator):
    def __init__(self, members: tuple[Validator, ...]) -> None:
        if not members:
            raise TypeError("v.union() needs at least one member")
        self.members = tuple(_as_validator(m) for m in members)

    def core_schema(self) -> CoreSchema:
        return core_schema.union_schema([m.core_schema() for m in self.members])


class _Literal(Validator):
    def __init__(self, value: Any) -> None:
        if not isinstance(value, (str, int, float, bool)):
            raise TypeError("v.literal() takes a string, number or boolean")
        self.value = value

    def core_schema(self) -> CoreSchema:
        expected = self.value

        def check(value: Any) -> Any:
            same_kind = isinstance(value, bool) == isinstance(expected, bool)
            if (
                not same_kind
                or value != expected
                or isinstance(value, str) != isinstance(expected, str)
            ):
                raise ValueError(f"Input should be {expected!r}")
            return expected

        return _plain(check, core_schema.literal_schema([expected]))


class _Optional(Validator):
    optional = True

    def __init__(self, inner: Validator) -> None:
        self.inner = _as_validator(inner)

    def core_schema(self) -> CoreSchema:
        return self.inner.core_schema()


class _PythonType(Validator):
    """Any annotation pydantic understands, as a validator."""

    def __init__(self, annotation: Any) -> None:
        self.annotation = annotation

    def core_schema(self) -> CoreSchema:
        adapter = TypeAdapter(
            rewrite_ints(self.annotation), config=ConfigDict(strict=True, extra="forbid")
        )
        return adapter.core_schema


def rewrite_ints(annotation: Any) -> Any:
    """Replace ``int`` (also inside ``list[int]``, ``int | None``, …) by the float-tolerant int."""
    if annotation is int:
        return typing.Annotated[int, _IntNumber()]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None or not args:
        return annotation
    if origin is typing.Annotated:
        return typing.Annotated[(rewrite_ints(args[0]), *annotation.__metadata__)]
    new_args = tuple(rewrite_ints(a) for a in args)
    if new_args == args:
        return annotation
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return typing.Union[new_args]  # noqa: UP007 - rebuilding a runtime union
    try:
        first, *rest = new_args
        return origin[new_args] if rest else origin[first]
    except TypeError:
        return annotation


def _as_validator(value: Any) -> Validator:
    if isinstance(value, Validator):
        return value
    if isinstance(value, Mapping):
        return ObjectValidator(value)
    return _PythonType(value)


class _V:
    """The `v` namespace: Convex's validator builders."""

    def string(self) -> Validator:
        return _String()

    def number(self) -> Validator:
        return _Number()

    float64 = number

    def int64(self) -> Validator:
        return _Int64()

    def boolean(self) -> Validator:
        return _Boolean()

    def null(self) -> Validator:
        return _Null()

    def bytes(self) -> Validator:
        return _Bytes()

    def any(self) -> Validator:
        return _Any()

    def id(self, table: str | type) -> Validator:
        """An id of ``table``: its name, or the model class registered as that table."""
        if not (isinstance(table, str) and table) and not (
            isinstance(table, type) and hasattr(table, "_meta")
        ):
            raise TypeError(
                f"v.id() takes a table name or a model class registered as a table, not {table!r}"
            )
        return _Id(table)

    def array(self, item: Validator) -> Validator:
        return _Array(item)

    def object(self, fields: Mapping[str, Validator]) -> ObjectValidator:
        return ObjectValidator(fields)

    def pagination_opts(self) -> ObjectValidator:
        """Convex's ``paginationOptsValidator``: the ``paginationOpts`` argument of a paginated
        query (``numItems``, ``cursor``, and what the clients add)."""
        number, cursor = _Number(), _Union((_String(), _Null()))
        fields = {"numItems": number, "cursor": cursor, "endCursor": _Optional(cursor)}
        more = {k: _Optional(number) for k in ("id", "maximumRowsRead", "maximumBytesRead")}
        return ObjectValidator({**fields, **more})

    def record(self, keys: Validator, values: Validator) -> Validator:
        return _Record(keys, values)

    def union(self, *members: Validator) -> Validator:
        return _Union(members)

    def literal(self, value: str | float | bool) -> Validator:
        return _Literal(value)

    def optional(self, inner: Validator) -> Validator:
        return _Optional(inner)

    def nullable(self, inner: Validator) -> Validator:
        return _Union((_as_validator(inner), _Null()))


v = _V()
