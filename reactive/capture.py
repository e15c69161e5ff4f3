"""Change capture: the pgtrigger trigger each registered table gets. Declares SQL only.

The trigger is a row-level AFTER INSERT/UPDATE/DELETE trigger that passes the table's name and the
values of its index-key columns (old and new row) to `reactive_capture_v1` (created by reactive's
migration), which appends them to the change log with the writing transaction's id. Because it is
a database trigger, writes from anywhere are seen: the executor, admin, `bulk_create`,
`QuerySet.update()`, raw SQL, other services. The columns come from the table's indexes, so adding
an index changes the trigger, and `makemigrations` records the change in the model's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pgtrigger

if TYPE_CHECKING:
    from django.db import models

    from .db.tables import Table

TRIGGER_NAME = "reactive_changes"


def key_columns(table: Table) -> list[str]:
    cols: list[str] = []
    for index in table.indexes.values():
        for col in index.key_columns:
            if col not in cols:
                cols.append(col)
    return cols


def _row_json(model: type[models.Model], columns: list[str], row: str) -> str:
    db_columns = {f.attname: f.column for f in model._meta.concrete_fields}
    parts = ", ".join(f"'{c}', {row}.\"{db_columns[c]}\"" for c in columns)
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


def uninstall_capture(table: Table) -> None:
    model = table.model
    for existing in list(getattr(model._meta, "triggers", [])):
        if existing.name == TRIGGER_NAME:
            existing.unregister(model)


def install_capture(table: Table) -> None:
    """Register (or replace) the table's capture trigger with pgtrigger."""
    uninstall_capture(table)
    pgtrigger.register(build_trigger(table))(table.model)
