"""Model instance ↔ document (a JSON-ready dict with `_id` and `_creationTime`). No queries.

Reading: a `Document` (a dict that reads its fields as attributes too); every concrete field
becomes a key named after the field; a foreign key to another table becomes that document's id; a
whole float or decimal reads as an int (as JavaScript prints it); the primary key becomes `_id`
and the creation-time field `_creationTime` (float ms since the epoch). Writing: keys are checked
against the fields, ids against the referenced table, and values through the field's own
`clean()`, so a write the model would reject is a `DocumentValidationError` naming the table and
field, before any SQL runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .. import ids
from ..errors import DocumentValidationError, InvalidId
from ..search.text_index import text_digest
from ..search.vector_spec import digest, is_vector_field, vector_number_problem
from ..values import UNDEFINED, Int64, whole
from .tables import Table, tables

REMOVE: Any = UNDEFINED  # ``ctx.db.patch(t, id, {"field": REMOVE})`` resets a field


def creation_ms(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.timestamp() * 1000.0
    return float(value)


def ms_to_column(field: object, value: Any) -> Any:
    """Convert an `_creationTime` (ms) value to the creation column's Python type."""
    if isinstance(field, models.DateTimeField) and isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value / 1000.0, tz=dt.UTC)
    return value


def _related_table(field: models.Field[Any, Any]) -> Table | None:
    # related_model is a class once the app registry is ready ("self" only before, for the stubs)
    if field.is_relation and isinstance(field.related_model, type):
        return tables.for_model(field.related_model)
    return None


class Document(dict[str, Any]):
    """A document as ``ctx.db`` returns it: a dict whose fields also read as attributes
    (``doc._id``, ``doc.body``), as Convex code reads them. A field named like a dict method
    (``items``, ``keys``, ``get``, …) is read as ``doc["items"]``. Encodes as a plain dict."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            fields = ", ".join(self) or "none"
            raise AttributeError(f"the document has no field {name!r} (fields: {fields})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


def to_document(table: Table, obj: models.Model) -> Document:
    doc = Document(_id=ids.encode_id(table.name, obj.pk))
    if table.creation_field:
        doc["_creationTime"] = creation_ms(getattr(obj, table.creation_field))
    for key, field in table.fields.items():
        value = getattr(obj, field.attname)
        if field.is_relation:
            target = _related_table(field)
            if target is not None and value is not None:
                value = ids.encode_id(target.name, value)
        elif isinstance(field, models.BigIntegerField) and value is not None:
            value = Int64(value)
        elif isinstance(field, (models.FloatField, models.DecimalField)) and value is not None:
            value = whole(float(value))  # 4.0 reads (and prints) as 4, as in JavaScript
        elif isinstance(field, (models.UUIDField, models.GenericIPAddressField)) and value:
            value = str(value)
        elif isinstance(field, models.BinaryField) and value is not None:
            value = bytes(value)
        elif value is not None and is_vector_field(field):
            value = [float(x) for x in value]
        doc[key] = value
    if table.shape is None:
        return doc
    shaped = table.shape(doc, obj)
    return Document(shaped) if type(shaped) is dict else shaped


def row_values(table: Table, obj: models.Model) -> dict[str, Any]:
    """Column → value for every column the change log captures (for write sets): the index
    keys, each search index's filter columns and text digest, and each vector index's filter
    columns and vector digest."""
    columns = {c for index in table.indexes.values() for c in index.key_columns}
    row = {c: getattr(obj, c) for c in columns}
    for spec in table.search_indexes.values():
        row.update((c, getattr(obj, c)) for c in spec.filter_columns)
        row[spec.digest_column] = text_digest(getattr(obj, spec.search_column))
    for vspec in table.vector_indexes.values():
        row.update((c, getattr(obj, c)) for c in vspec.filter_columns)
        row[vspec.digest_column] = digest(getattr(obj, vspec.column))
    return row


def _invalid(table: Table, key: str, message: str) -> DocumentValidationError:
    return DocumentValidationError(
        f"Invalid value for field `{key}` of table {table.name!r}: {message}"
    )


def column_value(table: Table, key: str, value: Any, *, where: str = "value") -> Any:
    """A document value → the Python value of the column behind ``key`` (ids → pks)."""
    if key == "_id":
        pk = ids.pk_of(table.name, value)
        if pk is None:
            raise InvalidId(f"{value!r} is not an id of table {table.name!r} ({where})")
        return pk
    if key == "_creationTime":
        field = table.model._meta.get_field(table.creation_field or "")
        return ms_to_column(field, value)
    field = table.fields[key]
    if value is None:
        return None
    if field.is_relation:
        target = _related_table(field)
        if target is None:  # a plain foreign key value, checked by the target's pk field
            return _to_python(table, key, field.target_field, value)
        pk = ids.pk_of(target.name, value)
        if pk is None:
            raise InvalidId(
                f"{value!r} is not an id of table {target.name!r} (field `{key}` of {table.name!r})"
            )
        return pk
    return _to_python(table, key, field, value)


def _vector(table: Table, key: str, field: models.Field[Any, Any], value: Any) -> list[float]:
    """A vector field's value: a list of finite numbers of the field's size."""
    if not isinstance(value, (list, tuple)):
        raise _invalid(table, key, f"expected a list of numbers, not {type(value).__name__}")
    for i, x in enumerate(value):
        problem = vector_number_problem(x)
        if problem is not None:
            raise _invalid(table, key, f"expected a list of numbers: [{i}] is {problem}")
    floats = [float(x) for x in value]
    size = getattr(field, "dimensions", None)
    if size is not None and len(floats) != size:
        raise _invalid(table, key, f"expected {size} numbers, got {len(floats)}")
    return floats


def _to_python(table: Table, key: str, field: models.Field[Any, Any], value: Any) -> Any:
    if is_vector_field(field):
        return _vector(table, key, field, value)
    if isinstance(field, (models.IntegerField, models.AutoField)) and isinstance(value, float):
        if not value.is_integer():
            raise _invalid(table, key, f"{value!r} is not an integer")
        value = int(value)
    if isinstance(value, (dict, list, tuple)) and not isinstance(field, models.JSONField):
        raise _invalid(table, key, f"expected a single value, not {type(value).__name__}")
    try:
        value = field.to_python(value)
    except ValidationError as exc:
        raise _invalid(table, key, "; ".join(exc.messages)) from None
    except (TypeError, ValueError) as exc:
        raise _invalid(table, key, f"{value!r} is not a valid value ({exc})") from None
    if isinstance(value, dt.datetime) and timezone.is_naive(value) and settings.USE_TZ:
        # a client's ISO string without an offset: stored and compared as aware, as Django does
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


def apply_document(
    table: Table, obj: models.Model, doc: dict[str, Any], *, replace: bool
) -> list[str]:
    """Set ``doc``'s fields on ``obj`` (all fields when ``replace``); return the attnames set."""
    if not isinstance(doc, dict):
        raise DocumentValidationError(f"a document for {table.name!r} must be an object")
    for key in doc:
        if key.startswith("_"):
            if key in ("_id", "_creationTime") and (replace or obj.pk is None):
                continue  # system fields are ignored on replace and insert, as in Convex
            raise _invalid(table, key, "system fields cannot be written")
        if key not in table.fields:
            raise DocumentValidationError(
                f"Table {table.name!r} has no field `{key}` (fields: "
                f"{', '.join(sorted(table.fields)) or 'none'})"
            )
    keys = list(table.fields) if replace else [k for k in doc if not k.startswith("_")]
    touched = []
    for key in keys:
        field = table.fields[key]
        value = doc.get(key, UNDEFINED)
        if value is UNDEFINED:
            if not field.has_default():
                if field.null:
                    value = None
                elif replace:
                    raise _invalid(table, key, "a value is required")
                else:
                    raise _invalid(
                        table, key, "has no default and is not nullable, so it cannot be removed"
                    )
            else:
                value = field.get_default()
                setattr(obj, field.attname, value)
                touched.append(field.attname)
                continue
        value = column_value(table, key, value)
        if value is None:
            if not field.null:
                raise _invalid(table, key, "cannot be null")
        else:
            try:
                field.run_validators(value)
                if field.choices:
                    field.validate(value, obj)
            except ValidationError as exc:
                raise _invalid(table, key, "; ".join(exc.messages)) from None
        setattr(obj, field.attname, value)
        touched.append(field.attname)
    for field in table.model._meta.concrete_fields:
        if getattr(field, "auto_now", False) and field.attname not in touched:
            setattr(obj, field.attname, timezone.now())
            touched.append(field.attname)
    return touched
