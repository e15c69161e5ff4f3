"""Convex index names longer than Django's 30 characters (models.E034): a table's
``index_names`` maps each to the Django name of one of its model's indexes, and both names
answer (``with_index``, ``with_search_index``, ``vector_search``). No queries here."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError


def aliased(found: dict[str, Any], index_names: dict[str, str] | None) -> dict[str, Any]:
    """``found`` (index name → spec), with each alias of one of its indexes added."""
    for alias, name in (index_names or {}).items():
        if name in found:
            found.setdefault(alias, found[name])
    return found


def check_index_names(table: Any) -> None:
    """Each alias of ``table`` (a `db.tables.Table`, which imports this module) names an
    index of its model, and no other index answers to it.

    Raises:
        ConfigurationError: naming the table, the alias and the index.
    """
    declared = {i.name for i in table.model._meta.indexes if i.name}
    answers = {**table.indexes, **table.search_indexes, **table.vector_indexes}
    for alias, name in (table.index_names or {}).items():
        where = f"table {table.name!r}: index_names maps {alias!r} to {name!r}"
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ConfigurationError(
                f"{where}, which is not an index of {table.model.__name__} (indexes: {known})"
            )
        if alias in declared or answers.get(alias) is not answers.get(name):
            raise ConfigurationError(f"{where}, but {alias!r} already names another index")
