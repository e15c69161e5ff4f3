"""Filter expressions: the `q` in `.filter(lambda q: ...)`, Convex's operators compiled to SQL.

`FilterBuilder` turns `q.eq(q.field("author"), "bot")`, `q.and_(...)`, arithmetic and a bare
boolean field into Django `Q`/expressions; Python's own operators on them are refused with a
`QueryError` that says which `q.` call to write. Filters narrow the rows returned, never the
range read.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q, Value
from django.db.models.functions import Mod
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
    LessThanOrEqual,
)

from ..errors import QueryError
from .documents import column_value

if TYPE_CHECKING:
    from .tables import Table


@dataclass(frozen=True, eq=False)
class Expr:
    compile: Callable[[Table], Any]
    field_name: str | None = None

    # `q.field("done") == True` reads as Python, but the lambda runs once, to build SQL: say
    # what to write instead of comparing two Python objects.
    def _operator(self, op: str, name: str) -> Any:
        field = f"q.field({self.field_name!r})" if self.field_name else "the expression"
        raise QueryError(
            f"filter(): Python's {op} does not build a filter; write "
            f"q.{name}({field}, <value>) (q.eq, q.neq, q.lt, q.lte, q.gt, q.gte, "
            "combined with q.and_/q.or_/q.not_)"
        )

    def __eq__(self, other: object) -> Any:
        return self._operator("==", "eq")

    def __ne__(self, other: object) -> Any:
        return self._operator("!=", "neq")

    def __lt__(self, other: object) -> Any:
        return self._operator("<", "lt")

    def __le__(self, other: object) -> Any:
        return self._operator("<=", "lte")

    def __gt__(self, other: object) -> Any:
        return self._operator(">", "gt")

    def __ge__(self, other: object) -> Any:
        return self._operator(">=", "gte")

    def __bool__(self) -> bool:  # `and`/`or`/`not` between expressions
        raise QueryError(
            "filter(): Python's and/or/not do not build a filter; write "
            "q.and_(a, b), q.or_(a, b), q.not_(a)"
        )

    __hash__ = object.__hash__


def _not_a_document(written: str, name: Any) -> str:
    return (
        f"filter(): the function gets a filter builder, not a document, so {written} means "
        f"nothing; compare fields with q.eq(q.field({name!r}), <value>), q.neq, q.lt, q.gt, "
        "... combined with q.and_/q.or_/q.not_"
    )


class FilterBuilder:
    """The ``q`` in ``filter(lambda q: ...)``: Convex's filter operators over SQL expressions."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def __getitem__(self, name: Any) -> Any:
        # `filter(lambda d: d["done"])` reads as Python over a document, but the lambda runs once,
        # to build SQL: say what to write instead of "object is not subscriptable".
        raise QueryError(_not_a_document(f"q[{name!r}]", name))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise QueryError(_not_a_document(f"q.{name}", name))

    def field(self, name: str) -> Expr:
        table = self._table
        try:
            col = table.column_for(name)
        except KeyError:
            raise QueryError(f"table {table.name!r} has no field {name!r}") from None
        return Expr(lambda t: F(col), field_name=name)

    def _operand(self, value: Any, other: Any) -> Any:
        if isinstance(value, Expr):
            return value.compile(self._table)
        if isinstance(other, Expr) and other.field_name is not None and value is not None:
            value = column_value(self._table, other.field_name, value, where="filter")
        return Value(value)

    def _compare(self, lookup: type, a: Any, b: Any) -> Expr:
        if not isinstance(a, Expr) and isinstance(b, Expr):
            # keep the field on the left so ids convert against the right column
            flips: dict[type, type] = {
                GreaterThan: LessThan,
                LessThan: GreaterThan,
                GreaterThanOrEqual: LessThanOrEqual,
                LessThanOrEqual: GreaterThanOrEqual,
            }
            return self._compare(flips.get(lookup, lookup), b, a)
        left, right = self._operand(a, b), self._operand(b, a)
        if lookup is Exact and isinstance(b, (type(None),)):
            return Expr(lambda t: Q(IsNull(left, True)))
        return Expr(lambda t: Q(lookup(left, right)))

    def eq(self, a: Any, b: Any) -> Expr:
        return self._compare(Exact, a, b)

    def neq(self, a: Any, b: Any) -> Expr:
        if not isinstance(a, Expr) and isinstance(b, Expr):
            a, b = b, a  # keep the field first: the NULL test below is on it
        inner = self.eq(a, b)
        if b is None:
            return Expr(lambda t: ~inner.compile(t))
        left = self._operand(a, b)
        # NULL <> x is unknown in SQL; Convex says null != x is true.
        return Expr(lambda t: ~inner.compile(t) | Q(IsNull(left, True)))

    def lt(self, a: Any, b: Any) -> Expr:
        return self._compare(LessThan, a, b)

    def lte(self, a: Any, b: Any) -> Expr:
        return self._compare(LessThanOrEqual, a, b)

    def gt(self, a: Any, b: Any) -> Expr:
        return self._compare(GreaterThan, a, b)

    def gte(self, a: Any, b: Any) -> Expr:
        return self._compare(GreaterThanOrEqual, a, b)

    def condition(self, expr: Any) -> Any:
        """A bare field used as a condition (Convex's `q.field("done")`): true where it is
        true. Anything else is returned as it is."""
        if isinstance(expr, Expr) and expr.field_name is not None:
            return self.eq(expr, True)
        return expr

    def and_(self, *exprs: Expr) -> Expr:
        conds = [self.condition(e) for e in exprs]
        return Expr(lambda t: _fold(operator.and_, [e.compile(t) for e in conds]))

    def or_(self, *exprs: Expr) -> Expr:
        conds = [self.condition(e) for e in exprs]
        return Expr(lambda t: _fold(operator.or_, [e.compile(t) for e in conds]))

    def not_(self, expr: Expr) -> Expr:
        cond = self.condition(expr)
        return Expr(lambda t: ~cond.compile(t))

    def _arith(self, op: Callable[[Any, Any], Any], a: Any, b: Any) -> Expr:
        return Expr(lambda t: op(self._operand(a, b), self._operand(b, a)))

    def add(self, a: Any, b: Any) -> Expr:
        return self._arith(operator.add, a, b)

    def sub(self, a: Any, b: Any) -> Expr:
        return self._arith(operator.sub, a, b)

    def mul(self, a: Any, b: Any) -> Expr:
        return self._arith(operator.mul, a, b)

    def div(self, a: Any, b: Any) -> Expr:
        return self._arith(operator.truediv, a, b)

    def mod(self, a: Any, b: Any) -> Expr:
        return self._arith(Mod, a, b)

    def neg(self, a: Any) -> Expr:
        return self._arith(operator.sub, 0, a)

    # Convex spells these `and`, `or`, `not`; Python reserves the words.
    locals()["and"] = and_
    locals()["or"] = or_
    locals()["not"] = not_


def _fold(op: Callable[[Q, Q], Q], parts: list[Any]) -> Q:
    if not parts:
        raise QueryError("and()/or() need at least one expression")
    result = parts[0] if isinstance(parts[0], Q) else Q(parts[0])
    for part in parts[1:]:
        result = op(result, part if isinstance(part, Q) else Q(part))
    return result
