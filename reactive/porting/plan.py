"""A Convex schema's exported JSON (``schema.export()``) → a plan of Django models.

Each table becomes a model (class name, fields, indexes, search and vector indexes), each
validator a field kind (docs/convex-schema.md has the table). Anything with no column to hold
it raises ``ValueError`` with one line naming the table and the field; nothing is half-planned.
"""

from __future__ import annotations

import hashlib
import keyword
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from ..values import Int64, decode
from .validators import describe

#: Django caps index names (models.E034); Postgres wants them unique per schema, so each is
#: prefixed with its table's name, and shortened with a hash of the Convex name when too long.
MAX_INDEX_NAME = 30
#: Python names the generated module imports: a table's class takes another name.
RESERVED_CLASSES = {"models", "table", "ReactiveModel", "SearchIndex", "VectorIndex", "VectorField"}
#: Names a model's own attributes take: ``Meta`` is its options, the two exceptions are set
#: by Django on every model class.
RESERVED_FIELDS = {
    "id",
    "pk",
    "creation_time",
    "objects",
    "Meta",
    "DoesNotExist",
    "MultipleObjectsReturned",
} | {name for name in dir(models.Model) if not name.startswith("_")}
#: Convex's system tables an id may name → reactive's model of each.
SYSTEM_MODELS = {
    "_storage": "reactive.StoredFile",
    "_scheduled_functions": "reactive.ScheduledFunction",
}
#: The most dimensions pgvector's HNSW index takes on a ``vector`` column (Convex: 4096).
MAX_HNSW_DIMENSIONS = 2000
#: Field kinds whose values are strings: what ``--max-length`` applies to.
TEXT = "text"
JSON = "json"


@dataclass(frozen=True)
class FieldPlan:
    name: str  # the model field's name, which is the document key
    kind: str  # text, float, bigint, bool, binary, json, fk, vector
    validator: str  # the Convex validator, as written in TypeScript
    null: bool = False
    choices: tuple[Any, ...] = ()
    target: str | None = None  # the table a foreign key refers to (system tables included)
    max_length: int | None = None
    dimensions: int | None = None
    #: Why a value with no column of its own is stored as it is (a comment in the module).
    note: str | None = None


@dataclass(frozen=True)
class IndexPlan:
    kind: str  # index, search, vector
    convex_name: str
    django_name: str
    fields: tuple[str, ...]  # index: the keys in order; search/vector: the searched field
    filter_fields: tuple[str, ...] = ()
    dimensions: int | None = None


@dataclass
class TablePlan:
    name: str
    class_name: str
    fields: list[FieldPlan] = field(default_factory=list)
    indexes: list[IndexPlan] = field(default_factory=list)

    @property
    def index_names(self) -> dict[str, str]:
        """Convex name → Django name, where the prefix rule does not already answer."""
        return {
            i.convex_name: i.django_name
            for i in self.indexes
            if i.django_name != f"{self.name}_{i.convex_name}"
        }


@dataclass
class SchemaPlan:
    tables: list[TablePlan]
    warnings: list[str] = field(default_factory=list)


def class_name(table: str) -> str:
    """``messages`` → ``Messages``, ``user_profiles`` / ``userProfiles`` → ``UserProfiles``;
    ``Table`` is added to a name Python or the module already takes (``none`` → ``NoneTable``)."""
    name = "".join(part[:1].upper() + part[1:] for part in table.split("_") if part)
    return f"{name}Table" if keyword.iskeyword(name) or name in RESERVED_CLASSES else name


def index_name(table: str, convex_name: str) -> str:
    """``<table>_<name>`` when it fits in 30 characters, else its first 25 and a short hash."""
    full = f"{table}_{convex_name}"
    if len(full) <= MAX_INDEX_NAME:
        return full
    digest = hashlib.sha1(full.encode(), usedforsecurity=False).hexdigest()[:4]
    return f"{full[: MAX_INDEX_NAME - 5].rstrip('_')}_{digest}"


def plan_schema(exported: dict[str, Any], max_lengths: dict[str, int] | None = None) -> SchemaPlan:
    """The models for ``exported`` (the JSON of ``schema.export()``).

    Args:
        exported: ``{"tables": [{"tableName", "documentType", "indexes", ...}, ...]}``.
        max_lengths: ``"table.field"`` → N: that string field is a ``CharField(max_length=N)``.

    Raises:
        ValueError: one line naming the table (and field or index) that cannot be mapped.
    """
    max_lengths = dict(max_lengths or {})
    raw_tables = exported.get("tables")
    if not isinstance(raw_tables, list):
        raise ValueError("the schema's export has no list of tables")
    names = {t["tableName"] for t in raw_tables}
    plan = SchemaPlan([])
    if exported.get("schemaValidation") is False:
        plan.warnings.append(
            "schemaValidation is false: Convex did not hold the documents to this schema, so "
            "data that does not match it will be refused by these models (and the import)"
        )
    classes: dict[str, str] = {}  # Django knows a model by its lowercased name
    for raw in raw_tables:
        name = raw["tableName"]
        cls = class_name(name)
        if cls.lower() in classes or not cls.isidentifier():
            taken = classes.get(cls.lower())
            other = f"table {taken!r}'s" if taken else "no Python"
            raise ValueError(f"table {name!r}: its model would be {cls}, {other} name")
        classes[cls.lower()] = name
        plan.tables.append(_table(raw, cls, names, max_lengths, plan.warnings))
    for key in max_lengths:
        raise ValueError(f"--max-length {key}: no string field {key} in the schema")
    # Postgres wants index names unique per schema: a 4-digit hash may meet another
    seen: dict[str, str] = {}
    for t in plan.tables:
        for index in t.indexes:
            where = f"table {t.name!r}, index {index.convex_name!r}"
            if index.django_name in seen:
                raise ValueError(
                    f"{where}: its Django name {index.django_name!r} is also that of "
                    f"{seen[index.django_name]}; rename one of them"
                )
            seen[index.django_name] = where
    return plan


def _table(
    raw: dict[str, Any],
    cls: str,
    names: set[str],
    max_lengths: dict[str, int],
    warnings: list[str],
) -> TablePlan:
    name = raw["tableName"]
    vectors = {i["vectorField"]: i["dimensions"] for i in raw.get("vectorIndexes") or []}
    table = TablePlan(name, cls)
    for key, (validator, optional) in _document_fields(name, raw["documentType"]).items():
        where = f"table {name!r}, field {key!r}"
        _check_field_name(where, key)
        planned = _field(where, key, validator, optional, names, vectors.get(key))
        limit = max_lengths.pop(f"{name}.{key}", None)
        if limit is not None:
            if planned.kind != TEXT:
                raise ValueError(f"--max-length {name}.{key}: {where} is not a string")
            longest = max(planned.choices, key=len, default="")
            if len(longest) > limit:  # Django's check (fields.E009) would refuse the model
                raise ValueError(
                    f"--max-length {name}.{key}={limit}: {where} may hold {longest!r}, "
                    f"{len(longest)} characters"
                )
            planned = FieldPlan(**{**planned.__dict__, "max_length": limit})
        table.fields.append(planned)
    by_name = {f.name: f for f in table.fields}
    for f in table.fields:  # Django keeps a foreign key's value in the attribute <name>_id
        if f.kind == "fk" and f"{f.name}_id" in by_name:
            raise ValueError(
                f"table {name!r}, field '{f.name}_id': Django holds the id of field {f.name!r} "
                "under this name; rename one of them in the schema"
            )
    for raw_index in raw.get("indexes") or []:
        table.indexes.append(_index(name, by_name, raw_index))
    for raw_index in raw.get("searchIndexes") or []:
        table.indexes.append(_search(name, by_name, raw_index))
    for raw_index in raw.get("vectorIndexes") or []:
        table.indexes.append(_vector(name, by_name, raw_index))
        if raw_index["dimensions"] > MAX_HNSW_DIMENSIONS:
            warnings.append(
                f"table {name!r}, vector index {raw_index['indexDescriptor']!r}: "
                f"{raw_index['dimensions']} dimensions, and pgvector indexes at most "
                f"{MAX_HNSW_DIMENSIONS}: migrate will fail on this index until it has fewer"
            )
    if raw.get("stagedDocumentType") is not None:
        warnings.append(
            f"table {name!r}: its staged validator (.staged(...)) left out; the models follow "
            "the validator Convex enforces"
        )
    for staged in ("stagedDbIndexes", "stagedSearchIndexes", "stagedVectorIndexes"):
        for raw_index in raw.get(staged) or []:
            warnings.append(
                f"table {name!r}: staged index {raw_index['indexDescriptor']!r} left out "
                "(Convex does not query staged indexes either)"
            )
    return table


def _document_fields(table: str, doc: dict[str, Any]) -> dict[str, tuple[dict[str, Any], bool]]:
    """Field name → (validator, optional) of a table's document type. A union of objects (one
    table, several shapes) has every field of every member: optional unless in all of them,
    and a union of the members' validators where they differ."""
    if doc.get("type") == "object":
        return {k: (f["fieldType"], f["optional"]) for k, f in doc["value"].items()}
    members = _members(doc) if doc.get("type") == "union" else None
    if not members or any(m.get("type") != "object" for m in members):
        raise ValueError(
            f"table {table!r}: documents of type {describe(doc)} have no fixed fields; "
            "declare them with an object (defineTable({...}))"
        )
    merged: dict[str, tuple[list[dict[str, Any]], bool]] = {}
    for member in members:
        for key, f in member["value"].items():
            kinds, optional = merged.get(key, ([], False))
            if f["fieldType"] not in kinds:
                kinds.append(f["fieldType"])
            merged[key] = (kinds, optional or f["optional"])
    result = {}
    for key, (kinds, optional) in merged.items():
        everywhere = all(key in m["value"] for m in members)
        validator = kinds[0] if len(kinds) == 1 else {"type": "union", "value": kinds}
        result[key] = (validator, optional or not everywhere)
    return result


def _check_field_name(where: str, key: str) -> None:
    if key.startswith("_"):
        raise ValueError(f"{where}: Convex keeps names starting with _ for system fields")
    if not key.isidentifier() or keyword.iskeyword(key):
        raise ValueError(f"{where}: not a Python name; rename it in the schema to port it")
    if "__" in key or key.endswith("_") or key in RESERVED_FIELDS:
        raise ValueError(f"{where}: Django reserves this field name; rename it in the schema")


def _field(
    where: str,
    key: str,
    validator: dict[str, Any],
    optional: bool,
    names: set[str],
    dimensions: int | None,
) -> FieldPlan:
    text = describe(validator)
    if optional:
        text = f"v.optional({text})"
    members = _members(validator)
    rest = [m for m in members if m["type"] != "null"]
    null = optional or len(rest) < len(members)
    if not rest:
        raise ValueError(f"{where}: {text} holds only null, which no column stores")
    if dimensions is not None:
        if len(rest) != 1 or rest[0] != {"type": "array", "value": {"type": "number"}}:
            raise ValueError(f"{where}: a vector index's field must be v.array(v.float64())")
        return FieldPlan(key, "vector", text, null=null, dimensions=dimensions)
    kinds = {_kind(where, m, names) for m in rest}
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind == "fk":
            targets = {m["tableName"] for m in rest}
            if len(targets) == 1:
                return FieldPlan(key, "fk", text, null=null, target=targets.pop())
            note = "ids of several tables: a string column, no foreign key"
            return FieldPlan(key, TEXT, text, null=null, note=note)
        literals = [_literal(m["value"]) for m in rest if m["type"] == "literal"]
        choices = tuple(literals) if len(literals) == len(rest) else ()
        null = null or any(m["type"] == "any" for m in rest)  # v.any() holds null too
        return FieldPlan(key, kind, text, null=null, choices=choices)
    if kinds == {TEXT, "fk"}:  # an id is a string too
        note = "ids and strings: a string column, no foreign key"
        return FieldPlan(key, TEXT, text, null=null, note=note)
    several = "values of several kinds: no column type holds them all"
    return FieldPlan(key, JSON, text, null=null, note=several)


def _members(validator: dict[str, Any]) -> list[dict[str, Any]]:
    """The validators a value may match: a union's members, a union inside it flattened
    (``v.union(status, v.null())`` where ``status`` is a union of literals), each once."""
    if validator["type"] != "union":
        return [validator]
    found: list[dict[str, Any]] = []
    for member in validator["value"]:
        found += [m for m in _members(member) if m not in found]
    return found


def _literal(value: Any) -> Any:
    """A literal's JSON (an int64 is ``{"$integer": base64}``) → its Python value."""
    decoded = decode(value, path="literal")
    return int(decoded) if isinstance(decoded, Int64) else decoded


_SCALARS = {"string": TEXT, "number": "float", "bigint": "bigint", "boolean": "bool"}
_JSON = {"any", "array", "object", "record", "union"}


def _kind(where: str, validator: dict[str, Any], names: set[str]) -> str:
    kind = validator["type"]
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "bytes":
        return "binary"
    if kind in _JSON:
        return JSON
    if kind == "literal":
        value = validator["value"]
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, str):
            return TEXT
        if isinstance(value, int | float):
            return "float"
        if isinstance(value, dict) and "$integer" in value:
            return "bigint"
        raise ValueError(f"{where}: literal {value!r} has no column type")
    if kind == "id":
        target = validator["tableName"]
        if target not in SYSTEM_MODELS and target not in names:
            raise ValueError(f"{where}: {describe(validator)} names no table of the schema")
        return "fk"
    raise ValueError(f"{where}: {describe(validator)} has no Django column type")


def _keys(table: str, what: str, fields: dict[str, FieldPlan], keys: list[str]) -> tuple[str, ...]:
    found = []
    for key in keys:
        if key == "_creationTime":
            found.append("creation_time")
        elif key in fields and fields[key].kind != "vector":
            found.append(key)
        else:
            nested = " (a nested field: Django indexes take columns)" if "." in key else ""
            raise ValueError(
                f"table {table!r}, {what}: {key!r} is not a field of the table{nested}"
            )
    return tuple(found)


def _index(table: str, fields: dict[str, FieldPlan], raw: dict[str, Any]) -> IndexPlan:
    convex = raw["indexDescriptor"]
    keys = _keys(table, f"index {convex!r}", fields, raw["fields"])
    return IndexPlan("index", convex, index_name(table, convex), keys)


def _search(table: str, fields: dict[str, FieldPlan], raw: dict[str, Any]) -> IndexPlan:
    convex = raw["indexDescriptor"]
    what = f"search index {convex!r}"
    (searched,) = _keys(table, what, fields, [raw["searchField"]])
    if fields[searched].kind != TEXT or fields[searched].choices:
        raise ValueError(f"table {table!r}, {what}: searchField {searched!r} is not a v.string()")
    filters = _keys(table, what, fields, raw.get("filterFields") or [])
    return IndexPlan("search", convex, index_name(table, convex), (searched,), filters)


def _vector(table: str, fields: dict[str, FieldPlan], raw: dict[str, Any]) -> IndexPlan:
    convex = raw["indexDescriptor"]
    what = f"vector index {convex!r}"
    vector = raw["vectorField"]
    if vector not in fields:
        raise ValueError(f"table {table!r}, {what}: {vector!r} is not a field of the table")
    if fields[vector].dimensions != raw["dimensions"]:
        raise ValueError(f"table {table!r}, {what}: {vector!r} has another index's dimensions")
    filters = _keys(table, what, fields, raw.get("filterFields") or [])
    return IndexPlan(
        "vector", convex, index_name(table, convex), (vector,), filters, raw["dimensions"]
    )
