"""Full-text search indexes: the `SearchIndex` a model declares, and the spec a table keeps.

A search index is an ordinary entry of the model's ``Meta.indexes``, so the project's own
``makemigrations`` creates it::

    class Meta:
        indexes = [SearchIndex(name="search_body", search_field="body",
                               filter_fields=["channel"], language="english")]

It is a GIN index over the expression ``to_tsvector(<language>, COALESCE(<field>, ''))``: no
extra column, and the search query (`text_sql`) writes the same expression so the planner uses
it. ``deconstruct()`` gives back exactly the arguments above, so migrations serialize it and
``makemigrations --check`` stays quiet. Filter fields are not in the GIN index: they are
equality conditions next to the text match, applied to the rows the GIN index finds.

`search_specs` checks a table's search indexes when the table is registered (the field is a
text field, filter fields exist, at most 16 of them, at most 4 search indexes per table) and
describes them as `SearchIndexSpec`s. It is given plain values, not the table, so that
`db/tables.py` can call it without an import cycle.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models

from ..errors import ConfigurationError

MAX_FILTER_FIELDS = 16
MAX_SEARCH_INDEXES = 4
#: A text search configuration's name (``pg_ts_config``): written into SQL as a literal.
_LANGUAGE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: The captured pseudo-column that tells whether a search field's text changed (its md5).
DIGEST_SUFFIX = "#md5"


def text_digest(text: str | None) -> str | None:
    """The digest the change log captures for a searched text: Postgres' ``md5(text)``."""
    if text is None:
        return None
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class SearchIndex(GinIndex):
    """A full-text search index over one text field, with optional equality filter fields.

    Args:
        name: The index name (unique per database schema, as every Django index name);
            ``with_search_index`` takes it, or its short form without the ``<table>_`` prefix.
        search_field: The ``CharField``/``TextField`` searched.
        filter_fields: Fields ``q.eq(...)`` may filter on inside the search (at most 16).
        language: The Postgres text search configuration: ``"simple"`` (the default:
            lowercased words only, as Convex's tokenizer, every prefix a typeahead match),
            ``"english"`` (stemming, stop words), or any other installed one.
    """

    def __init__(
        self,
        *,
        name: str,
        search_field: str,
        filter_fields: Sequence[str] = (),
        language: str = "simple",
        **kwargs: Any,
    ) -> None:
        if not isinstance(search_field, str) or not search_field:
            raise ConfigurationError(f"SearchIndex {name!r}: search_field must be a field name")
        if isinstance(filter_fields, str):
            raise ConfigurationError(
                f"SearchIndex {name!r}: filter_fields must be a list of field names, not a string"
            )
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            raise ConfigurationError(
                f"SearchIndex {name!r}: language {language!r} is not a text search "
                "configuration name (e.g. 'english', 'simple')"
            )
        self.search_field = search_field
        self.filter_fields = tuple(filter_fields)
        self.language = language
        super().__init__(SearchVector(search_field, config=language), name=name, **kwargs)

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        _, _, kwargs = super().deconstruct()
        kwargs.pop("expressions", None)
        kwargs["search_field"] = self.search_field
        if self.filter_fields:
            kwargs["filter_fields"] = list(self.filter_fields)
        kwargs["language"] = self.language
        return "reactive.search.SearchIndex", (), kwargs


@dataclass(frozen=True)
class SearchIndexSpec:
    """A table's search index as queries and change capture use it."""

    name: str
    search_field: str  # the document key searched
    search_column: str  # its model attname
    filter_fields: tuple[str, ...]  # document keys
    filter_columns: tuple[str, ...]  # their attnames
    language: str

    @property
    def digest_column(self) -> str:
        """The captured pseudo-column holding the md5 of the search field's text."""
        return self.search_column + DIGEST_SUFFIX


def search_specs(
    table: str, indexes: Iterable[Any], fields: dict[str, Any]
) -> dict[str, SearchIndexSpec]:
    """The search indexes among a model's ``Meta.indexes``, by name and short name.

    ``fields`` maps document keys to Django fields (the table's readable fields). Raises
    `ConfigurationError` naming the table and the index for a field that is unknown, excluded
    or not text, more than 16 filter fields, or more than 4 search indexes.
    """
    found = [i for i in indexes if isinstance(i, SearchIndex)]
    if len(found) > MAX_SEARCH_INDEXES:
        names = ", ".join(repr(i.name) for i in found)
        raise ConfigurationError(
            f"table {table!r} declares {len(found)} search indexes ({names}); "
            f"at most {MAX_SEARCH_INDEXES} are allowed"
        )
    by_name = {field.name: key for key, field in fields.items()}
    result: dict[str, SearchIndexSpec] = {}
    for index in found:
        where = f"table {table!r}, search index {index.name!r}"
        key = by_name.get(index.search_field)
        if key is None:
            raise ConfigurationError(
                f"{where}: search_field {index.search_field!r} is not a field of the table"
            )
        field = fields[key]
        if not isinstance(field, models.CharField | models.TextField):
            raise ConfigurationError(
                f"{where}: search_field {index.search_field!r} is a "
                f"{type(field).__name__}; it must be a CharField or a TextField"
            )
        if len(index.filter_fields) > MAX_FILTER_FIELDS:
            raise ConfigurationError(
                f"{where}: {len(index.filter_fields)} filter fields; at most "
                f"{MAX_FILTER_FIELDS} are allowed"
            )
        filter_keys = []
        for name in index.filter_fields:
            filter_key = by_name.get(name)
            if filter_key is None:
                raise ConfigurationError(
                    f"{where}: filter field {name!r} is not a field of the table"
                )
            if filter_key in filter_keys:
                raise ConfigurationError(f"{where}: filter field {name!r} is listed twice")
            filter_keys.append(filter_key)
        spec = SearchIndexSpec(
            name=index.name,
            search_field=key,
            search_column=field.attname,
            filter_fields=tuple(filter_keys),
            filter_columns=tuple(fields[k].attname for k in filter_keys),
            language=index.language,
        )
        result[index.name] = spec
        # as with_index: "messages_search_body" on table "messages" also answers to "search_body"
        short = index.name.removeprefix(f"{table}_")
        if short != index.name and short not in result:
            result[short] = spec
    return result
