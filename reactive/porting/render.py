"""A `plan.SchemaPlan` → the Python source of a ``models.py``.

One ``@table`` model per Convex table, on `reactive.models.ReactiveModel` (its
``creation_time`` is ``_creationTime``), fields named as the document keys, indexes in
``Meta.indexes``. Ids are foreign keys without a database constraint or cascade (decision 148).
The output is what ``ruff format`` would leave as it is, for lines it can keep under 100.
"""

from __future__ import annotations

import json
from typing import Any

from .plan import JSON, SYSTEM_MODELS, FieldPlan, IndexPlan, SchemaPlan, TablePlan, class_name

LINE = 99
_FIELD_CLASS = {
    "text": "models.TextField",
    "float": "models.FloatField",
    "bigint": "models.BigIntegerField",
    "bool": "models.BooleanField",
    "binary": "models.BinaryField",
    JSON: "models.JSONField",
    "fk": "models.ForeignKey",
    "vector": "VectorField",
}
#: The imported names a class body reads after its first fields, and the alias each is
#: imported as when a field takes its name (a field ``models`` would hide Django's module).
_ALIASES = {"models": "django_models", "VectorField": "PgVectorField"}


class _Names(dict[str, str]):
    """Imported name → the name the module uses for it (itself, or its alias)."""

    def code(self, text: str) -> str:
        """``text`` (written with ``models.`` and ``VectorField``) with the names in use."""
        head, dot, rest = text.partition(".")
        if dot and head == "models":
            return f"{self[head]}.{rest}"
        return self.get(text, text)


def render(plan: SchemaPlan, source: str) -> str:
    """The module's text; ``source`` is the schema's path, named in its docstring."""
    kinds = {i.kind for t in plan.tables for i in t.indexes}
    vectors = any(f.kind == "vector" for t in plan.tables for f in t.fields)
    taken = {f.name for t in plan.tables for f in t.fields}
    names = _Names({n: alias if n in taken else n for n, alias in _ALIASES.items()})
    lines = [
        f'"""Django models for the Convex tables of {source}.',
        "",
        "Written by `manage.py reactive convex-schema`; edit them as your own from now on.",
        "Each model is the table of the same name for ctx.db; `creation_time` is `_creationTime`.",
        '"""',
        "",
        _import("django.db", "models", names),
    ]
    if vectors:
        lines.append(_import("pgvector.django", "VectorField", names))
    lines += ["", "from reactive import table", "from reactive.models import ReactiveModel"]
    search = [n for k, n in (("search", "SearchIndex"), ("vector", "VectorIndex")) if k in kinds]
    if search:
        lines.append(f"from reactive.search import {', '.join(search)}")
    for t in plan.tables:
        lines += ["", "", *_model(t, names)]
    return "\n".join(lines) + "\n"


def _import(module: str, name: str, names: _Names) -> str:
    alias = "" if names[name] == name else f" as {names[name]}"
    return f"from {module} import {name}{alias}"


def _call(indent: int, head: str, args: list[str], tail: str = "") -> list[str]:
    """``head(args)tail`` on one line if it fits, else one argument per line."""
    pad = " " * indent
    one = f"{pad}{head}({', '.join(args)}){tail}"
    if len(one) <= LINE or not args:
        return [one]
    return [f"{pad}{head}(", *(f"{pad}    {a}," for a in args), f"{pad}){tail}"]


def _model(t: TablePlan, names: _Names) -> list[str]:
    pairs = [f"{_py(k)}: {_py(v)}" for k, v in t.index_names.items()]
    decorator = [_py(t.name)] + ([f"index_names={{{', '.join(pairs)}}}"] if pairs else [])
    lines = _call(0, "@table", decorator)
    if len(lines) > 1 and len(decorator[1]) > LINE - 5:  # the mapping too, one pair a line
        lines = ["@table(", f"    {decorator[0]},", "    index_names={"]
        lines += [f"        {pair}," for pair in pairs] + ["    },", ")"]
    lines.append(f"class {t.class_name}(ReactiveModel):")
    for f in t.fields:
        lines += _field(f, names)
    if t.fields:  # ruff format keeps no blank line right under ``class ...:``
        lines.append("")
    lines += ["    class Meta:", f"        verbose_name_plural = {_py(t.name)}"]
    if t.indexes:
        lines.append("        indexes = [")
        for index in t.indexes:
            lines += _index(index, names)
        lines.append("        ]")
    return lines


def _field(f: FieldPlan, names: _Names) -> list[str]:
    args: list[str] = []
    if f.kind == "fk":
        target = SYSTEM_MODELS.get(f.target or "") or class_name(f.target or "")
        args += [_py(target), f"on_delete={names.code('models.DO_NOTHING')}", "db_constraint=False"]
        args.append('related_name="+"')
    if f.kind == "vector":
        args.append(f"dimensions={f.dimensions}")
    head = names.code(_FIELD_CLASS[f.kind])
    if f.max_length is not None:
        head = names.code("models.CharField")
        args.append(f"max_length={f.max_length}")
    if f.choices:
        args.append(f"choices=[{', '.join(f'({_py(c)}, {_py(_label(c))})' for c in f.choices)}]")
    if f.null:
        args += ["null=True", "blank=True"]
    elif f.kind == "text":
        args.append("blank=True")  # Convex's v.string() accepts ""
    comments = []
    if f.kind == JSON or f.note:
        comments.append(f"    # {f.validator}")
    if f.note:
        comments.append(f"    # ({f.note})")
    return comments + _call(4, f"{f.name} = {head}", args)


def _label(value: Any) -> str:
    """A literal as TypeScript writes it: ``1``, not ``1.0``; ``true``, not ``True``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _py(value: Any) -> str:
    """Python source for ``value``, strings in double quotes (as ruff formats them)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return f"[{', '.join(_py(v) for v in value)}]"
    return repr(value)


def _index(index: IndexPlan, names: _Names) -> list[str]:
    name = f"name={_py(index.django_name)}"
    filters = f"filter_fields={_py(index.filter_fields)}"
    if index.kind == "index":
        return _call(12, names.code("models.Index"), [f"fields={_py(index.fields)}", name], ",")
    if index.kind == "search":
        args = [name, f"search_field={_py(index.fields[0])}"]
        return _call(12, "SearchIndex", [*args, filters] if index.filter_fields else args, ",")
    args = [name, f"vector_field={_py(index.fields[0])}", f"dimensions={index.dimensions}"]
    return _call(12, "VectorIndex", [*args, filters] if index.filter_fields else args, ",")
