"""The SQL of a full-text search, as a Django queryset over the table's rows. No execution.

    SELECT ..., ts_rank(to_tsvector('english'::regconfig, COALESCE("body", '')),
                        to_tsquery('english'::regconfig, '''hello'' | ''wor'':*')) AS rank
    FROM messages
    WHERE to_tsvector('english'::regconfig, COALESCE("body", '')) @@ to_tsquery(...)
      AND channel_id = 7 AND <.filter()s>
    ORDER BY rank DESC, creation_time DESC, id DESC

The match repeats the index's own expression (`text_index.SearchIndex`), so Postgres answers it
from the GIN index. The order is relevance (``ts_rank``: term frequency, no corpus statistics,
so one row's rank depends on its own text only), then the newest first, then the primary key:
a unique key, so pages are gapless. `search_index` describes that key as an `Index` whose
first column is the rank annotation, for the cursors and the page reader of `db/`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import models
from django.db.models.functions import Cast

from ..db.tables import Index, Table
from .text_query import TextSearch

#: The rank's annotation name (a query's first key column; never a model field's attname).
RANK = "_search_rank"
_VECTOR = "_search_vector"


def search_index(table: Table, search: TextSearch) -> Index:
    """The key a search orders by, as an index: rank, creation time, primary key."""
    spec = search.spec
    creation = (table.column_for("_creationTime"),) if table.creation_field else ()
    return Index(
        spec.name,
        (spec.search_field, *spec.filter_fields),
        (spec.search_column, *spec.filter_columns),
        (RANK, *creation, table.pk_column),
    )


def search_queryset(qs: models.QuerySet[Any], search: TextSearch) -> models.QuerySet[Any]:
    """``qs`` narrowed to the rows matching ``search``, ranked, in relevance order (the
    ordering is the caller's: `search_index`'s key columns, descending)."""
    spec = search.spec
    field_name = qs.model._meta.get_field(spec.search_column).name
    vector = SearchVector(field_name, config=spec.language)
    tsquery = SearchQuery(search.tsquery, config=spec.language, search_type="raw")
    matched: models.QuerySet[Any] = (
        qs.alias(**{_VECTOR: vector}).filter(**{_VECTOR: tsquery}).filter(search.q)
    )
    # as double precision: a real would reach Python rounded through its text form, and a
    # cursor holding that value would not compare equal to the row's rank
    rank = Cast(SearchRank(vector, tsquery), models.FloatField())
    ranked: models.QuerySet[Any] = matched.annotate(**{RANK: rank})
    return ranked if search.terms else ranked.none()  # no terms match nothing: no SQL runs
