"""Which Django models are tables, under which Convex-style names, with which indexes.

Register a model with the ``@table("messages")`` decorator (or ``register_table``). Its indexes are
the named ``Meta.indexes`` over plain fields, plus the built-in ``by_id`` and ``by_creation_time``.
Every index key ends with the creation-time field (when the table has one) and the primary key, as
Convex appends ``_creationTime`` (and the id) to every index. No queries here.
Django caps index names at 30 characters: ``index_names=`` gives an index a longer Convex name.

Registration records the table and whether its writes are captured; it declares no trigger.
Whoever follows the registry (`TableRegistry.follow`: the change log's triggers, from
`ReactiveConfig.ready()`) is told of each table registered before and after it started to follow.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .. import ids
from ..errors import ConfigurationError, UnknownTable
from ..search.text_index import SearchIndex, SearchIndexSpec, search_specs
from ..search.vector_spec import VectorSpec, is_vector_field, vector_specs
from .index_names import aliased, check_index_names

if TYPE_CHECKING:
    from django.db import models

CREATION_FIELD_NAMES = ("creation_time",)


@dataclass(frozen=True)
class Index:
    name: str
    fields: tuple[str, ...]  # user-visible fields, in order (document keys)
    columns: tuple[str, ...]  # model attnames for those fields
    key_columns: tuple[str, ...]  # columns + creation column + pk column: the full, unique key


@dataclass
class Table:
    name: str
    model: type[models.Model]
    creation_field: str | None
    tag: bytes
    exclude: frozenset[str] = frozenset()
    #: A read-only system table (``_scheduled_functions``), reached through ``ctx.db.system``.
    system: bool = False
    #: Document key → model field name, when they differ (system tables use camelCase keys).
    keys: dict[str, str] | None = None
    #: Reshapes a document after the fields are read (e.g. nests ``state``).
    shape: Any = None
    #: Whether the model declares the change-capture triggers (not on a package's model).
    capture: bool = True
    #: Convex index name → Django index name, for names longer than Django allows.
    index_names: dict[str, str] | None = None
    _indexes: dict[str, Index] | None = None
    _fields: dict[str, Any] | None = None
    _search_indexes: dict[str, SearchIndexSpec] | None = None
    _vector_indexes: dict[str, VectorSpec] | None = None

    @property
    def pk_column(self) -> str:
        return self.model._meta.pk.attname

    @property
    def fields(self) -> dict[str, Any]:
        """Document key → Django field: every concrete field but the pk, the creation time and
        the excluded ones (which are neither readable nor writable through ``ctx.db``)."""
        if self._fields is None:
            if self.keys is not None:
                self._fields = {
                    key: self.model._meta.get_field(name) for key, name in self.keys.items()
                }
                return self._fields
            self._fields = {
                f.name: f
                for f in self.model._meta.concrete_fields
                if not f.primary_key
                and f.name != self.creation_field
                and f.name not in self.exclude
            }
        return self._fields

    def column_for(self, key: str) -> str:
        """The model attname behind a document key (``_id``, ``_creationTime`` included)."""
        if key == "_id":
            return self.pk_column
        if key == "_creationTime":
            if self.creation_field is None:
                raise KeyError(key)
            # a concrete column (checked at registration), not a reverse relation
            field = cast("models.Field[Any, Any]", self.model._meta.get_field(self.creation_field))
            return field.attname
        attname: str = self.fields[key].attname
        return attname

    @property
    def indexes(self) -> dict[str, Index]:
        if self._indexes is None:
            self._indexes = self._build_indexes()
        return self._indexes

    @property
    def search_indexes(self) -> dict[str, SearchIndexSpec]:
        """The table's full-text search indexes (`reactive.search.SearchIndex` entries of
        ``Meta.indexes``), by name and by short name; never ``with_index`` indexes."""
        if self._search_indexes is None:
            found = [i for i in self.model._meta.indexes if isinstance(i, SearchIndex)]
            specs = search_specs(self.name, found, self.fields) if found else {}
            self._search_indexes = aliased(specs, self.index_names)
        return self._search_indexes

    def _tail(self) -> tuple[str, ...]:
        tail = []
        if self.creation_field:
            tail.append(self.column_for("_creationTime"))
        tail.append(self.pk_column)
        return tuple(tail)

    def _index_fields(self, index: Any) -> tuple[str, ...] | None:
        """Document keys of a Django index, or None if it cannot serve ``with_index``."""
        if not index.name or not index.fields or index.expressions or index.condition:
            return None  # expressions and partial indexes do not cover every row by field
        by_field = {field.name: key for key, field in self.fields.items()}
        keys = []
        for name in (f.lstrip("-") for f in index.fields):
            if name == self.creation_field:
                keys.append("_creationTime")
            elif name in by_field and not is_vector_field(self.fields[by_field[name]]):
                keys.append(by_field[name])
            else:
                return None
        return tuple(keys)

    def _is_vector_index(self, index: Any) -> bool:
        names = {f.lstrip("-") for f in getattr(index, "fields", ()) or ()}
        by_name = {f.name: f for f in self.model._meta.concrete_fields}
        return hasattr(index, "vector_field") or any(
            is_vector_field(by_name[n]) for n in names if n in by_name
        )

    def unusable_indexes(self) -> list[str]:
        """Named model indexes that ``with_index`` cannot use (expressions, partial indexes,
        excluded fields); vector indexes serve ``vector_search`` instead."""
        return [
            i.name
            for i in self.model._meta.indexes
            if i.name
            and not isinstance(i, SearchIndex)
            and self._index_fields(i) is None
            and not self._is_vector_index(i)
        ]

    @property
    def vector_indexes(self) -> dict[str, VectorSpec]:
        """Index name → `VectorSpec`: the model's ``VectorIndex`` declarations, checked."""
        if self._vector_indexes is None:
            self._vector_indexes = aliased(vector_specs(self), self.index_names)
        return self._vector_indexes

    def _build_indexes(self) -> dict[str, Index]:
        tail = self._tail()
        result = {
            "by_id": Index("by_id", ("_id",), (self.pk_column,), (self.pk_column,)),
            "by_creation_time": Index(
                "by_creation_time",
                ("_creationTime",) if self.creation_field else (),
                tail[:-1],
                tail,
            ),
        }
        for index in self.model._meta.indexes:
            names = self._index_fields(index)
            if names is None:
                continue
            columns = tuple(self.column_for(n) for n in names)
            key = columns + tuple(c for c in tail if c not in columns)
            result[index.name] = Index(index.name, names, columns, key)
            # Postgres wants index names unique per schema, Convex per table: an index named
            # "messages_by_channel" on table "messages" also answers to "by_channel".
            short = index.name.removeprefix(f"{self.name}_")
            if short != index.name and short not in result:
                result[short] = Index(short, names, columns, key)
        return aliased(result, self.index_names)


#: Told of a table: one just registered, or a model's table just unregistered.
TableHook = Callable[[Table], None]


class TableRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Table] = {}
        self._by_model: dict[type, Table] = {}
        self._by_tag: dict[bytes, Table] = {}
        # A proxy model's table also answers for its concrete model: foreign keys and cascades
        # name the concrete model (auth.User), the table is registered on the proxy.
        self._by_concrete: dict[type | None, Table] = {}  # concrete_model is Optional in the stubs
        self._by_db_table: dict[str, Table] | None = None
        self._lock = threading.Lock()
        self._followers: list[tuple[TableHook, TableHook]] = []

    def follow(self, registered: TableHook, unregistered: TableHook) -> None:
        """Call ``registered`` for each model's table registered so far, then for each table
        registered from now on, and ``unregistered`` when a model's table is unregistered.

        The change log declares its triggers this way, from ``ReactiveConfig.ready()``; this
        module does not know it. Following twice with the same hooks changes nothing.
        """
        with self._lock:
            if (registered, unregistered) in self._followers:
                return
            self._followers.append((registered, unregistered))
            known = list(self._by_model.values())  # the latest table of each model
        for table in known:
            registered(table)

    def register(
        self,
        model: type[models.Model],
        name: str,
        creation_time: str | None = None,
        exclude: tuple[str, ...] = (),
        capture: bool = True,
        *,
        system: bool = False,
        keys: dict[str, str] | None = None,
        shape: Any = None,
        index_names: dict[str, str] | None = None,
    ) -> Table:
        if not name or name.startswith("_") != system:
            raise ConfigurationError(f"table name {name!r} must not be empty or start with '_'")
        if creation_time is None:
            found = [f.name for f in model._meta.concrete_fields if f.name in CREATION_FIELD_NAMES]
            creation_time = found[0] if found else None
        names = {f.name for f in model._meta.concrete_fields}
        unknown = sorted(set(exclude) - names)
        if unknown:
            raise ConfigurationError(f"table {name!r}: exclude names unknown field(s) {unknown}")
        table = Table(
            name=name,
            model=model,
            creation_field=creation_time,
            tag=ids.table_tag(name),
            exclude=frozenset(exclude),
            system=system,
            keys=keys,
            shape=shape,
            capture=capture,
            index_names=dict(index_names) if index_names else None,
        )
        table.search_indexes  # noqa: B018  (checked now: a bad declaration fails registration)
        table.vector_indexes  # noqa: B018  (checked now: a mistake fails at startup)
        check_index_names(table)
        with self._lock:
            old = self._by_name.get(name)
            if old is not None and old.model.__qualname__ != model.__qualname__:
                raise ConfigurationError(
                    f"table {name!r} is already registered for {old.model.__name__}"
                )
            other = self._by_tag.get(table.tag)
            if other is not None and other.name != name:
                raise ConfigurationError(
                    f"table names {name!r} and {other.name!r} collide in the id tag; rename one"
                )
            self._by_name[name] = self._by_model[model] = self._by_tag[table.tag] = table
            if model._meta.proxy:
                self._by_concrete[model._meta.concrete_model] = table
            self._by_db_table = None
            followers = list(self._followers)
        for registered, _ in followers:
            registered(table)
        return table

    def unregister(self, name: str) -> None:
        with self._lock:
            table = self._by_name.pop(name, None)
            if table is not None:
                self._by_tag.pop(table.tag, None)
                concrete = table.model._meta.concrete_model
                if self._by_concrete.get(concrete) is table:
                    del self._by_concrete[concrete]
                self._by_db_table = None
                if self._by_model.get(table.model) is table:
                    del self._by_model[table.model]
                    for _, unregistered in self._followers:
                        unregistered(table)

    def get(self, name: str) -> Table:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownTable(f"no table is registered as {name!r}") from None

    def find(self, name: str) -> Table | None:
        return self._by_name.get(name)

    def for_model(self, model: type) -> Table | None:
        return self._by_model.get(model) or self._by_concrete.get(model)

    def for_db_table(self, db_table: str) -> Table | None:
        return self.by_db_table().get(db_table.split('"."')[-1])

    def by_db_table(self) -> dict[str, Table]:
        """Database table name → table, for every registered table (cached)."""
        mapping = self._by_db_table
        if mapping is None:
            with self._lock:
                # a db_table of 'schema"."table' (Django's way to name a schema): the last part
                mapping = {
                    t.model._meta.db_table.split('"."')[-1]: t for t in self._by_model.values()
                }
                self._by_db_table = mapping
        return mapping

    def for_tag(self, tag: bytes) -> Table | None:
        return self._by_tag.get(tag)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._by_name.values(), key=lambda t: t.name))


tables = TableRegistry()


def table(
    name: str,
    *,
    creation_time: str | None = None,
    exclude: tuple[str, ...] = (),
    index_names: dict[str, str] | None = None,
) -> Any:
    """Class decorator: expose a Django model as the table ``name``.

    Args:
        name: The Convex-style table name, e.g. ``"messages"``.
        creation_time: The field behind ``_creationTime`` (a FloatField of ms or a DateTimeField).
            Defaults to a field named ``creation_time`` if the model has one.
        exclude: Fields kept out of documents and writes (e.g. ``("password",)``).
        index_names: Convex index name → Django name of a model index, for Convex names over
            Django's 30 characters; ``with_index`` and the searches take either name.

    Example:
        >>> @table("messages")
        ... class Message(models.Model):
        ...     body = models.TextField()
    """

    def wrap(model: type[models.Model]) -> type[models.Model]:
        tables.register(model, name, creation_time, tuple(exclude), index_names=index_names)
        return model

    return wrap


def register_table(
    model: type[models.Model],
    name: str,
    *,
    creation_time: str | None = None,
    exclude: tuple[str, ...] = (),
    index_names: dict[str, str] | None = None,
) -> Table:
    """Expose an existing model as a table without decorating it.

    The table's change-capture triggers are declared on ``model``, so ``makemigrations`` writes
    them into ``model``'s app. A model of an installed package (``auth.User``) gets none, as
    its migrations live in site-packages: register a proxy model of it declared in your own
    app instead, so the migration is yours (see docs/database.md). Until then, system check
    ``reactive.W010`` reports the table: writes to it reach no subscriber.

    Example:
        >>> class UserTable(get_user_model()):
        ...     class Meta:
        ...         proxy = True
        >>> register_table(UserTable, "users", creation_time="date_joined",
        ...                exclude=("password",))
    """
    capture = not is_package_model(model)
    return tables.register(
        model, name, creation_time, tuple(exclude), capture, index_names=index_names
    )


def is_package_model(model: type[models.Model]) -> bool:
    """Whether the model's app is an installed package (site-packages), not the project's.

    Its migrations belong to the package, so a trigger declared on it would make
    `makemigrations` write a migration into site-packages, lost on the next install.
    """
    module = sys.modules.get(model.__module__)
    parts = Path(getattr(module, "__file__", None) or "").parts
    return "site-packages" in parts or "dist-packages" in parts
