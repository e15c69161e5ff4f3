"""The `v` namespace and the compilation of argument/return validators into pydantic validators.

Two spellings, one machinery. Convex style:
``@mutation(args={"body": v.string()}, returns=v.id("messages"))``. Pythonic: type hints on the
handler, ``def send(ctx, body: str, channel: v.id("channels")) -> str``.
Every `v.*` validator is also a valid annotation (it provides its own pydantic core schema), and
plain types go through pydantic in strict mode, except that an ``int`` accepts an integral float
(the official clients send every number as a float64). Objects reject extra keys, as in Convex.
Validators compile once, at registration. Id validators check the id's format and table, never
existence (that is ``ctx.db.get``'s job).
"""

from __future__ import annotations

import abc
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic_core import SchemaValidator, core_schema

from . import ids
from .values import Int64


class Validator(abc.ABC):
    """A Convex-style validator; usable in ``args=``/``returns=`` and as a type annotation."""

    optional = False

    @abc.abstractmethod
    def core_schema(self) -> core_schema.CoreSchema:
        """The pydantic-core schema that checks (and converts) a value."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return self.core_schema()

    def describe(self) -> str:
        return type(self).__name__


def _plain(check: Callable[[Any], Any]) -> core_schema.CoreSchema:
    return core_schema.no_info_plain_validator_function(check)


class _String(Validator):
    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.str_schema(strict=True)


class _Number(Validator):
    def core_schema(self) -> core_schema.CoreSchema:
        def check(value: Any) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(
                value, Int64
            ):
                raise ValueError("Input should be a number (float64)")
            return float(value)

        return _plain(check)


class _Int64(Validator):
    def core_schema(self) -> core_schema.CoreSchema:
        def check(value: Any) -> Int64:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("Input should be an int64 (bigint / {\"$integer\": ...})")
            return Int64(value)

        return _plain(check)


class _IntNumber(Validator):
    """A Python ``int`` annotation: an int, or a float64 with no fractional part."""

    def core_schema(self) -> core_schema.CoreSchema:
        def check(value: Any) -> int:
            if isinstance(value, bool):
                raise ValueError("Input should be an integer")
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError("Input should be an integer")

        return _plain(check)


class _Boolean(Validator):
    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.bool_schema(strict=True)


class _Null(Validator):
    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.none_schema()


class _Bytes(Validator):
    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.bytes_schema(strict=True)


class _Any(Validator):
    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.any_schema()


class _Id(Validator):
    def __init__(self, table: str) -> None:
        self.table = table

    def core_schema(self) -> core_schema.CoreSchema:
        table = self.table

        def check(value: Any) -> str:
            if not isinstance(value, str) or ids.pk_of(table, value) is None:
                raise ValueError(f"Input should be an id of table {table!r}")
            return value

        return _plain(check)

    def describe(self) -> str:
        return f"id({self.table!r})"


class _Array(Validator):
    def __init__(self, item: Validator) -> None:
        self.item = _as_validator(item)

    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.list_schema(self.item.core_schema(), max_length=8192, strict=True)


class _Object(Validator):
    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = {k: _as_validator(f) for k, f in fields.items()}

    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.typed_dict_schema(
            {
                name: core_schema.typed_dict_field(f.core_schema(), required=not f.optional)
                for name, f in self.fields.items()
            },
            extra_behavior="forbid",
            strict=True,
        )


class _Record(Validator):
    def __init__(self, keys: Validator, values: Validator) -> None:
        self.keys, self.values = _as_validator(keys), _as_validator(values)

    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.dict_schema(
            self.keys.core_schema(), self.values.core_schema(), strict=True
        )


class _Union(Validator):
    def __init__(self, members: tuple[Validator, ...]) -> None:
        if not members:
            raise TypeError("v.union() needs at least one member")
        self.members = tuple(_as_validator(m) for m in members)

    def core_schema(self) -> core_schema.CoreSchema:
        return core_schema.union_schema([m.core_schema() for m in self.members])


class _Literal(Validator):
    def __init__(self, value: Any) -> None:
        if not isinstance(value, (str, int, float, bool)):
            raise TypeError("v.literal() takes a string, number or boolean")
        self.value = value

    def core_schema(self) -> core_schema.CoreSchema:
        expected = self.value

        def check(value: Any) -> Any:
            same_kind = isinstance(value, bool) == isinstance(expected, bool)
            if not same_kind or value != expected or isinstance(value, str) != isinstance(
                expected, str
            ):
                raise ValueError(f"Input should be {expected!r}")
            return expected

        return _plain(check)


class _Optional(Validator):
    optional = True

    def __init__(self, inner: Validator) -> None:
        self.inner = _as_validator(inner)

    def core_schema(self) -> core_schema.CoreSchema:
        return self.inner.core_schema()


class _PythonType(Validator):
    """Any annotation pydantic understands, as a validator."""

    def __init__(self, annotation: Any) -> None:
        self.annotation = annotation

    def core_schema(self) -> core_schema.CoreSchema:
        adapter = TypeAdapter(
            _rewrite_ints(self.annotation), config=ConfigDict(strict=True, extra="forbid")
        )
        return adapter.core_schema


def _as_validator(value: Any) -> Validator:
    if isinstance(value, Validator):
        return value
    if isinstance(value, Mapping):
        return _Object(value)
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

    def id(self, table: str) -> Validator:
        return _Id(table)

    def array(self, item: Validator) -> Validator:
        return _Array(item)

    def object(self, fields: Mapping[str, Validator]) -> Validator:
        return _Object(fields)

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


# --- annotations ------------------------------------------------------------------------------

def _rewrite_ints(annotation: Any) -> Any:
    """Replace ``int`` (also inside ``list[int]``, ``int | None``, …) by the float-tolerant int."""
    if annotation is int:
        return typing.Annotated[int, _IntNumber()]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None or not args:
        return annotation
    if origin is typing.Annotated:
        return typing.Annotated[(_rewrite_ints(args[0]), *annotation.__metadata__)]
    new_args = tuple(_rewrite_ints(a) for a in args)
    if new_args == args:
        return annotation
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return typing.Union[new_args]  # noqa: UP007 - rebuilding a runtime union
    try:
        return origin[new_args] if len(new_args) > 1 else origin[new_args[0]]
    except TypeError:
        return annotation


def _optional_hint(hint: Any) -> bool:
    if isinstance(hint, Validator):
        return hint.optional
    if typing.get_origin(hint) is typing.Annotated:
        return any(isinstance(m, Validator) and m.optional for m in hint.__metadata__)
    return False


class CompiledArgs:
    """Validates a call's arguments object; returns the kwargs for the handler."""

    def __init__(self, validate: Callable[[Any], dict[str, Any]], accepts_any: bool) -> None:
        self._validate = validate
        self.accepts_any = accepts_any

    def __call__(self, args: Any) -> dict[str, Any]:
        return self._validate(args)


def compile_args(handler: Callable[..., Any], args: Mapping[str, Any] | Validator | None,
                 where: str) -> CompiledArgs:
    """Build the argument validator from ``args=`` or, if absent, the handler's type hints."""
    params = list(inspect.signature(handler).parameters.values())[1:]  # drop ctx
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    if args is not None:
        obj = args if isinstance(args, _Object) else _as_validator(args)
        if not isinstance(obj, _Object):
            raise TypeError(f"{where}: args= must be a dict of validators or v.object(...)")
        names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        missing = [k for k in obj.fields if k not in names]
        if missing and not var_kw:
            raise TypeError(f"{where}: the handler has no parameter for argument(s) {missing}")
        validator = SchemaValidator(obj.core_schema())
        optional = {k for k, f in obj.fields.items() if f.optional}
        defaults = {p.name for p in params if p.default is not p.empty}

        def run(value: Any) -> dict[str, Any]:
            result = dict(validator.validate_python(value))
            for name in optional - defaults - result.keys():
                result[name] = None  # an absent optional arg with no handler default
            return result

        return CompiledArgs(run, accepts_any=False)

    hints = typing.get_type_hints(handler, include_extras=True)
    fields: dict[str, Any] = {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise TypeError(f"{where}: arguments are passed by name; {p.name!r} is positional-only")
        hint = hints.get(p.name, Any)
        default = ... if p.default is p.empty else p.default
        if _optional_hint(hint) and default is ...:
            default = None  # v.optional(...) as a hint: the argument may be absent
        fields[p.name] = (_rewrite_ints(hint), default)
    model = create_model(  # type: ignore[call-overload]
        f"{handler.__name__}_args",
        __config__=ConfigDict(strict=True, extra="allow" if var_kw else "forbid",
                              arbitrary_types_allowed=False),
        **fields,
    )
    adapter = TypeAdapter(model)

    def run_hints(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError.from_exception_data(
                "args", [{"type": "dict_type", "loc": (), "input": value}]
            )
        instance = adapter.validate_python(value)
        out = {name: getattr(instance, name) for name in fields}
        if var_kw and instance.model_extra:
            out.update(instance.model_extra)
        return out

    return CompiledArgs(run_hints, accepts_any=not fields and var_kw)


class CompiledReturns:
    def __init__(self, validate: Callable[[Any], Any] | None) -> None:
        self._validate = validate

    def __call__(self, value: Any) -> Any:
        return value if self._validate is None else self._validate(value)


def compile_returns(handler: Callable[..., Any], returns: Any) -> CompiledReturns:
    """Build the return validator from ``returns=`` or the handler's return annotation."""
    if returns is None:
        annotation = typing.get_type_hints(handler, include_extras=True).get("return")
        if annotation is None or annotation is Any:
            return CompiledReturns(None)
        returns = _PythonType(annotation)
    validator = _as_validator(returns)
    if isinstance(validator, _PythonType):
        adapter = TypeAdapter(
            _rewrite_ints(validator.annotation), config=ConfigDict(strict=True)
        )
        return CompiledReturns(adapter.validate_python)
    return CompiledReturns(SchemaValidator(validator.core_schema()).validate_python)


def describe_errors(exc: ValidationError, limit: int = 5) -> str:
    """One line per error: where (as a path into the object) and what."""
    lines = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in err["loc"])
        loc = loc.replace(".[", "[")
        if err["type"] == "extra_forbidden":
            lines.append(f"Object contains extra field `{loc}` that is not in the validator.")
        elif err["type"] == "missing":
            lines.append(f"Object is missing the required field `{loc}`.")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            where = f"`{loc}`" if loc else "the value"
            lines.append(f"{where}: {msg} (got {_short(err.get('input'))}).")
    more = len(exc.errors()) - limit
    if more > 0:
        lines.append(f"... and {more} more error(s).")
    return " ".join(lines)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
