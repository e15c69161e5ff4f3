"""Compiling declared arguments and results into validators, once, at registration.

`compile_args` builds the argument validator from ``args=`` (a dict of `v` validators) or, if
absent, from the handler's type hints (strict pydantic, with ``int`` accepting integral floats;
with no hint at all, any arguments, as Convex without ``args``);
`compile_returns` does the same for ``returns=`` or the return annotation. `inspect_declaration`
finds, before that, what could never work (no ctx, a type no Convex value satisfies), one line
each, for the system check. `describe_errors` turns a pydantic error into the one-line messages
clients see.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import SchemaValidator

from .builders import ObjectValidator, Validator, _as_validator, _PythonType, rewrite_ints
from .wire import id_tables, wire_problem


@dataclass
class Declaration:
    """What `inspect_declaration` found: problems (one line each) and the tables of `v.id`s."""

    problems: list[str] = field(default_factory=list)
    id_tables: set[str | type] = field(default_factory=set)


_VALUE_TYPES = (str, int, float, bool, bytes, list, dict)


def inspect_declaration(handler: Callable[..., Any], args: Any, returns: Any) -> Declaration:
    """Check the handler's signature, ``args=`` / type hints and ``returns=`` / return hint."""
    found = Declaration()
    try:
        params = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return Declaration([f"its signature cannot be read ({handler!r})"])
    if not params or params[0].kind not in (
        params[0].POSITIONAL_ONLY,
        params[0].POSITIONAL_OR_KEYWORD,
    ):
        return Declaration(
            [
                "the handler takes no ctx parameter first; write "
                f"def {getattr(handler, '__name__', 'f')}(ctx, ...)"
            ]
        )
    try:
        hints = typing.get_type_hints(handler, include_extras=True)
    except Exception as exc:  # e.g. NameError: a hint names something undefined
        return Declaration([f"its type hints cannot be resolved: {exc}"])
    first = hints.get(params[0].name)
    if (
        isinstance(first, Validator)
        or first in _VALUE_TYPES
        or typing.get_origin(first) in (list, dict)
    ):
        found.problems.append(
            f"the first parameter {params[0].name!r} receives ctx, not an argument; "
            "add ctx before it"
        )
    declared: dict[str, Any] = {}
    if args is not None:
        obj = (
            args
            if isinstance(args, ObjectValidator)
            else (ObjectValidator(args) if isinstance(args, Mapping) else None)
        )
        if obj is None:
            found.problems.append(
                f"args= must be a dict of validators or v.object({{...}}), not {args!r}"
            )
        else:
            declared = dict(obj.fields)
            names = {
                p.name for p in params[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            }
            missing = [k for k in declared if k not in names]
            if missing and not any(p.kind is p.VAR_KEYWORD for p in params):
                found.problems.append(f"the handler has no parameter for argument(s) {missing}")
    else:
        for p in params[1:]:
            if p.kind is p.POSITIONAL_ONLY:
                found.problems.append(
                    f"argument {p.name!r} is positional-only; arguments are passed by name"
                )
            elif p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                declared[p.name] = hints.get(p.name, Any)
    for name, hint in declared.items():
        problem = wire_problem(hint)
        if problem:
            found.problems.append(f"argument {name!r}: {problem}")
        found.id_tables.update(id_tables(hint))
    result = returns if returns is not None else hints.get("return")
    if result is not None:
        problem = wire_problem(result, result=True)
        if problem:
            found.problems.append(f"returns: {problem}")
        found.id_tables.update(id_tables(result))
    return found


def _optional_hint(hint: Any) -> bool:
    if isinstance(hint, Validator):
        return hint.optional
    if typing.get_origin(hint) is typing.Annotated:
        return any(isinstance(m, Validator) and m.optional for m in hint.__metadata__)
    return False


class CompiledArgs:
    """Validates a call's arguments object; returns the kwargs for the handler. ``schema``
    builds the arguments' JSON Schema (the admin shows it)."""

    def __init__(
        self,
        validate: Callable[[Any], dict[str, Any]],
        accepts_any: bool,
        schema: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._validate = validate
        self.accepts_any = accepts_any
        self.schema = schema

    def __call__(self, args: Any) -> dict[str, Any]:
        return self._validate(args)


def compile_args(
    handler: Callable[..., Any], args: Mapping[str, Any] | Validator | None, where: str
) -> CompiledArgs:
    """Build the argument validator from ``args=`` or, if absent, the handler's type hints."""
    params = list(inspect.signature(handler).parameters.values())[1:]  # drop ctx
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    if args is not None:
        obj = args if isinstance(args, ObjectValidator) else _as_validator(args)
        if not isinstance(obj, ObjectValidator):
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

        return CompiledArgs(run, False, lambda: GenerateJsonSchema().generate(obj.core_schema()))

    hints = typing.get_type_hints(handler, include_extras=True)
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    # Declared without validators (no args=, no annotated parameter): any arguments, as Convex
    # accepts any when `args` is absent; those the handler has no parameter for are dropped.
    loose = not any(p.name in hints for p in named)
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
        fields[p.name] = (rewrite_ints(hint), default)
    model = create_model(
        f"{handler.__name__}_args",
        __config__=ConfigDict(
            strict=True,
            extra="allow" if var_kw else ("ignore" if loose else "forbid"),
            arbitrary_types_allowed=False,
        ),
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

    return CompiledArgs(run_hints, loose or (not fields and var_kw), adapter.json_schema)


class CompiledReturns:
    def __init__(
        self,
        validate: Callable[[Any], Any] | None,
        schema: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._validate = validate
        self.schema = schema  # the result's JSON Schema; None: any value

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
        adapter = TypeAdapter(rewrite_ints(validator.annotation), config=ConfigDict(strict=True))
        return CompiledReturns(adapter.validate_python, adapter.json_schema)
    core = validator.core_schema()
    return CompiledReturns(
        SchemaValidator(core).validate_python, lambda: GenerateJsonSchema().generate(core)
    )


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
