"""The ``filter`` of ``ctx.vector_search``: Convex's ``VectorFilterBuilder``, ``q.eq`` on a
declared filter field, combined with ``q.or_``. Pure: builds and checks, reads nothing.

``filter=lambda q: q.or_(q.eq("genre", "a"), q.eq("genre", "b"))`` gives the clauses
``(("genre", "a"), ("genre", "b"))``: a row passes if any clause holds. Anything else (another
method, a value that is not a clause, a field the index does not declare) is a `QueryError`
naming the function and the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError


@dataclass(frozen=True)
class Clauses:
    """An OR of ``field == value`` (what ``q.eq`` and ``q.or_`` return)."""

    terms: tuple[tuple[str, Any], ...]


class VectorFilterBuilder:
    """The ``q`` a filter receives."""

    def __init__(self, where: str, filter_fields: tuple[str, ...]) -> None:
        self._where = where
        self._fields = filter_fields

    def eq(self, field: str, value: Any) -> Clauses:
        """Rows whose ``field`` equals ``value`` (``field`` is one of the index's filter fields)."""
        if field not in self._fields:
            declared = ", ".join(repr(f) for f in self._fields) or "none"
            raise QueryError(
                f"{self._where}: filter field {field!r} is not declared in the index's "
                f"filter_fields (declared: {declared})"
            )
        return Clauses(((field, value),))

    def or_(self, *clauses: Clauses) -> Clauses:
        """Rows that pass any of ``clauses``."""
        if not clauses:
            raise QueryError(f"{self._where}: q.or_() needs at least one q.eq(...)")
        terms: list[tuple[str, Any]] = []
        for clause in clauses:
            terms.extend(_checked(self._where, clause).terms)
        return Clauses(tuple(terms))

    def __getattr__(self, name: str) -> Any:
        raise QueryError(
            f"{self._where}: a vector search filter has only q.eq(field, value) and "
            f"q.or_(...), not q.{name}"
        )


def _checked(where: str, value: Any) -> Clauses:
    if not isinstance(value, Clauses):
        raise QueryError(
            f"{where}: filter must return q.eq(...) or q.or_(...), not {type(value).__name__}"
        )
    return value


def build_filter(
    where: str, filter_fields: tuple[str, ...], filter: Callable[[Any], Any] | None
) -> tuple[tuple[str, Any], ...]:
    """The clauses of ``filter`` (none: every row)."""
    if filter is None:
        return ()
    if not callable(filter):
        raise QueryError(f"{where}: filter must be a function of q, e.g. lambda q: q.eq(...)")
    return _checked(where, filter(VectorFilterBuilder(where, filter_fields))).terms
