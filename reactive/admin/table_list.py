"""The admin's "Tables" page: every registered table with its indexes, search and vector
indexes included, its estimated row count, whether its writes are captured, and a link to the
model's own admin where it has one.

The page hangs off `TableOverview`, a model without a database table (``managed = False``), so
it appears in the admin's index under "Reactive" and is guarded by Django's ordinary
permission (``reactive.view_tableoverview``; superusers have it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse

from ..changelog.triggers import captured
from ..db.tables import Table, tables
from ..models import TableOverview
from .base import ReadOnlyAdmin


@dataclass
class IndexRow:
    name: str
    kind: str  # "index", "search" or "vector"
    fields: str
    details: str = ""


@dataclass
class TableRow:
    name: str
    model: str
    db_table: str
    system: bool
    captured: bool
    rows: int | None
    admin_url: str | None
    indexes: list[IndexRow] = field(default_factory=list)


def _grouped(items: dict[str, Any], same: Any) -> list[tuple[str, Any, list[str]]]:
    """(name, item, other names) for each distinct item: "messages_by_channel" also answers
    to "by_channel", and is listed once."""
    groups: dict[Any, tuple[str, Any, list[str]]] = {}
    for name, item in items.items():
        key = same(item)
        if key in groups:
            groups[key][2].append(name)
        else:
            groups[key] = (name, item, [])
    return list(groups.values())


def _aliases(others: list[str]) -> str:
    return f"also answers to {', '.join(others)}" if others else ""


def _index_rows(table: Table) -> list[IndexRow]:
    rows = [
        IndexRow(name, "index", ", ".join(index.fields) or "(creation order)", _aliases(others))
        for name, index, others in _grouped(table.indexes, lambda i: (i.fields, i.key_columns))
    ]
    unnamed = lambda spec: replace(spec, name="")  # noqa: E731
    for name, spec, others in _grouped(table.search_indexes, unnamed):
        filters = ", ".join(spec.filter_fields) or "none"
        details = f"language {spec.language}; filter fields: {filters}"
        rows.append(IndexRow(name, "search", spec.search_field, _join(details, others)))
    for name, vspec, others in _grouped(table.vector_indexes, unnamed):
        filters = ", ".join(vspec.filter_fields) or "none"
        details = f"{vspec.dimensions} dimensions, {vspec.distance}; filter fields: {filters}"
        rows.append(IndexRow(name, "vector", vspec.field, _join(details, others)))
    return rows


def _join(details: str, others: list[str]) -> str:
    return f"{details}; {_aliases(others)}" if others else details


def _estimates(names: list[str]) -> dict[str, int]:
    """Postgres's row estimates (``pg_class.reltuples``; -1 before the first ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class "
            "WHERE relkind IN ('r', 'p') AND relname = ANY(%s)",
            [names],
        )
        return {name: count for name, count in cursor.fetchall() if count >= 0}


def _admin_url(model: type) -> str | None:
    if not admin.site.is_registered(model):
        return None
    meta = model._meta  # type: ignore[attr-defined]
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    except NoReverseMatch:
        return None


def table_rows() -> list[TableRow]:
    registered = list(tables)
    estimates = _estimates([t.model._meta.db_table.split('"."')[-1] for t in registered])
    return [
        TableRow(
            name=t.name,
            model=t.model._meta.label,
            db_table=t.model._meta.db_table,
            system=t.system,
            captured=captured(t),
            rows=estimates.get(t.model._meta.db_table.split('"."')[-1]),
            admin_url=_admin_url(t.model),
            indexes=_index_rows(t),
        )
        for t in registered
    ]


@admin.register(TableOverview)
class TableOverviewAdmin(ReadOnlyAdmin):
    """One page, the list of tables; there is no object to open."""

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.changelist_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", view, name=name)]

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Tables",
            "opts": self.opts,
            "tables": table_rows(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/reactive/tables.html", context)
