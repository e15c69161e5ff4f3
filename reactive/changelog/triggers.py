"""The pgtrigger triggers each registered table's model carries. Declares SQL only.

Two triggers per table, both calling `reactive_capture_v1` (created by reactive's migration),
which appends a row to the change log with the writing transaction's id:

- `reactive_changes`, row-level AFTER INSERT/UPDATE/DELETE, passes the table's name and the
  values of its index-key columns (old and new row). The columns come from the table's indexes,
  so adding an index changes the trigger, and `makemigrations` records the change.
- `reactive_truncate`, statement-level AFTER TRUNCATE (row triggers do not fire on TRUNCATE, nor
  on `manage.py flush`, which truncates), records op ``T`` with no row: a whole-table write.

Because they are database triggers, writes from anywhere are seen: the executor, admin,
`bulk_create`, `QuerySet.update()`, raw SQL, TRUNCATE, other services. The triggers are declared
on the registered model, so its app's migrations install them. `register_table` declares none on
a model of an installed package (auth.User), whose migrations are not the project's (see
`db.tables.is_package_model`): the project registers a proxy model of it instead, declared in its
own app, which carries the triggers into that app's migrations.

Triggers are declared when `ReactiveConfig.ready()` calls `follow_tables()` (django-pgtrigger
registers the triggers of `Meta.triggers` in its own `ready()` too), not when a table is
registered: the table registry (`db.tables`) tells this module of each table, those registered
before and those registered after, and does not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pgtrigger

from ..db.tables import Table, tables
from ..search.text_index import DIGEST_SUFFIX as TEXT_DIGEST
from ..search.vector_spec import digest_column

#: The suffix of a vector's digest pseudo-column (`search.vector_spec.digest_column`).
VECTOR_DIGEST = digest_column("")

if TYPE_CHECKING:
    from django.db import models

TRIGGER_NAME = "reactive_changes"
TRUNCATE_TRIGGER_NAME = "reactive_truncate"
TRIGGER_NAMES = (TRIGGER_NAME, TRUNCATE_TRIGGER_NAME)


def key_columns(table: Table) -> list[str]:
    """The columns a change carries: every index key column; each search index's filter columns
    and the md5 of its search field (a pseudo-column ``<attname>#md5``, so a change of the text
    is seen without capturing the text); each vector index's filter columns and a digest
    pseudo-column per indexed vector (``<column>#digest``: the md5 of its text, never the
    vector itself)."""
    cols: list[str] = []
    for index in table.indexes.values():
        for col in index.key_columns:
            if col not in cols:
                cols.append(col)
    extra = [(*s.filter_columns, s.digest_column) for s in table.search_indexes.values()]
    extra += [(*s.filter_columns, s.digest_column) for s in table.vector_indexes.values()]
    for group in extra:
        for col in group:
            if col not in cols:
                cols.append(col)
    return cols


def _row_json(model: type[models.Model], columns: list[str], row: str) -> str:
    db_columns = {f.attname: f.column for f in model._meta.concrete_fields}

    def value(column: str) -> str:
        if column.endswith(TEXT_DIGEST):
            return f'md5({row}."{db_columns[column.removesuffix(TEXT_DIGEST)]}")'
        if column.endswith(VECTOR_DIGEST):
            return f'md5({row}."{db_columns[column.removesuffix(VECTOR_DIGEST)]}"::text)'
        return f'{row}."{db_columns[column]}"'

    parts = ", ".join(f"'{c}', {value(c)}" for c in columns)
    return f"jsonb_build_object({parts})"


def build_trigger(table: Table) -> pgtrigger.Trigger:
    columns = key_columns(table)
    old, new = _row_json(table.model, columns, "OLD"), _row_json(table.model, columns, "NEW")
    name = table.name.replace("'", "''")
    func = f"""
        IF TG_OP = 'INSERT' THEN
            PERFORM reactive_capture_v1('{name}', TG_OP, NULL, {new});
        ELSIF TG_OP = 'UPDATE' THEN
            PERFORM reactive_capture_v1('{name}', TG_OP, {old}, {new});
        ELSE
            PERFORM reactive_capture_v1('{name}', TG_OP, {old}, NULL);
        END IF;
        RETURN NULL;
    """
    return pgtrigger.Trigger(
        name=TRIGGER_NAME,
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        level=pgtrigger.Row,
        func=func,
    )


def build_truncate_trigger(table: Table) -> pgtrigger.Trigger:
    name = table.name.replace("'", "''")
    return pgtrigger.Trigger(
        name=TRUNCATE_TRIGGER_NAME,
        when=pgtrigger.After,
        operation=pgtrigger.Truncate,
        level=pgtrigger.Statement,
        func=f"PERFORM reactive_capture_v1('{name}', TG_OP, NULL, NULL); RETURN NULL;",
    )


def build_triggers(table: Table) -> list[pgtrigger.Trigger]:
    """The capture triggers the table's model should carry."""
    return [build_trigger(table), build_truncate_trigger(table)]


def uninstall_capture(table: Table) -> None:
    model = table.model
    for existing in list(getattr(model._meta, "triggers", [])):
        if existing.name in TRIGGER_NAMES:
            existing.unregister(model)


def captured(table: Table) -> bool:
    """Whether the table's model carries its capture triggers."""
    return any(t.name == TRIGGER_NAME for t in getattr(table.model._meta, "triggers", []))


def install_capture(table: Table) -> None:
    """Register (or replace) the table's capture triggers with pgtrigger."""
    uninstall_capture(table)
    pgtrigger.register(*build_triggers(table))(table.model)


def declare(table: Table) -> None:
    """Bring the model's triggers in line with a table just registered (none if not captured)."""
    (install_capture if table.capture else uninstall_capture)(table)


def follow_tables() -> None:
    """Declare the triggers of every table registered so far, and of each one registered from
    now on; drop them when a model's table is unregistered. Called from `ReactiveConfig.ready()`."""
    tables.follow(registered=declare, unregistered=uninstall_capture)
