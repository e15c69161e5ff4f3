"""Declaring a vector index: VectorIndex in Meta.indexes (an HNSW index with the distance's
operator class, which makemigrations writes and deconstruct() round-trips), checked by the
table registry at registration (a ConfigurationError naming the table and the index), kept out
of the ordered indexes, and captured as filter columns plus a digest, never the vector."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import isolate_apps
from pgvector.django import VectorField

from reactive.changelog.triggers import build_trigger, key_columns
from reactive.db.tables import TableRegistry, tables
from reactive.errors import ConfigurationError, QueryError
from reactive.models import ReactiveModel
from reactive.search import VectorIndex

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("distance", "opclass"),
    [("cosine", "vector_cosine_ops"), ("l2", "vector_l2_ops"), ("ip", "vector_ip_ops")],
)
def test_the_opclass_follows_the_distance_and_deconstruct_round_trips(
    distance: str, opclass: str
) -> None:
    index = VectorIndex(
        name="things_by_vec",
        vector_field="vec",
        dimensions=8,
        filter_fields=["kind"],
        distance=distance,
        m=8,
        ef_construction=32,
    )
    assert index.opclasses == (opclass,) or list(index.opclasses) == [opclass]
    path, args, kwargs = index.deconstruct()
    assert path == "reactive.search.VectorIndex" and args == ()
    again = VectorIndex(**kwargs)
    assert again == index and again.deconstruct() == (path, args, kwargs)
    assert "fields" not in kwargs and "opclasses" not in kwargs
    default = VectorIndex(name="x", vector_field="vec", dimensions=8)
    assert default.distance == "cosine" and "distance" not in default.deconstruct()[2]


def test_a_bad_distance_is_refused_at_declaration() -> None:
    with pytest.raises(ConfigurationError, match="distance must be one of cosine, l2, ip"):
        VectorIndex(name="x", vector_field="vec", dimensions=8, distance="dot")


def test_the_migration_creates_an_hnsw_index_with_the_opclass() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'testapp_point' "
            "AND indexname LIKE 'points_by_%%' ORDER BY indexname"
        )
        found = dict(cursor.fetchall())
    assert "USING hnsw (vec vector_l2_ops)" in found["points_by_l2"]
    assert "USING hnsw (vec vector_ip_ops)" in found["points_by_ip"]
    assert "USING hnsw (vec vector_cosine_ops)" in found["points_by_cosine"]


def test_registered_vector_indexes_and_capture_columns() -> None:
    movies = tables.get("movies")
    spec = movies.vector_indexes["by_embedding"]
    assert movies.vector_indexes["movies_by_embedding"] is spec
    assert (spec.field, spec.dimensions, spec.distance) == ("embedding", 256, "cosine")
    assert spec.filter_fields == ("genre", "owner")
    # the vector is no ordered index, and no system check calls its index unusable
    assert "by_embedding" not in movies.indexes and movies.unusable_indexes() == []
    columns = key_columns(movies)
    assert {"genre", "owner", "embedding#digest"} <= set(columns)
    assert "embedding" not in columns
    func = build_trigger(movies).func
    assert 'md5(NEW."embedding"::text)' in str(func) and 'NEW."embedding",' not in str(func)


def _register(fields: dict[str, Any], index: VectorIndex) -> None:
    registry = TableRegistry()
    with isolate_apps("tests.testapp"):
        meta = type("Meta", (), {"app_label": "testapp", "managed": False, "indexes": [index]})
        model = type("Sample", (ReactiveModel,), {"__module__": __name__, "Meta": meta, **fields})
        registry.register(model, "samples")


@pytest.mark.parametrize(
    ("fields", "kwargs", "message"),
    [
        ({"kind": models.CharField(max_length=5)}, {}, "vector_field 'vec' is not a VectorField"),
        ({"vec": models.TextField()}, {}, "vector_field 'vec' is not a VectorField"),
        (
            {"vec": VectorField(dimensions=4)},
            {},
            "dimensions=8 but field 'vec' is VectorField(dimensions=4)",
        ),
        (
            {"vec": VectorField(dimensions=1)},
            {"dimensions": 1},
            "dimensions must be 2..4096, not 1",
        ),
        ({"vec": VectorField(dimensions=4097)}, {"dimensions": 4097}, "dimensions must be 2..4096"),
        (
            {"vec": VectorField(dimensions=8)},
            {"filter_fields": ["nope"]},
            "filter field 'nope' is not a plain field",
        ),
        (
            {"vec": VectorField(dimensions=8)},
            {"filter_fields": ["vec"]},
            "filter field 'vec' is not a plain field",
        ),
        (
            {
                "vec": VectorField(dimensions=8),
                **{f"f{i}": models.IntegerField() for i in range(17)},
            },
            {"filter_fields": [f"f{i}" for i in range(17)]},
            "at most 16 filter fields, not 17",
        ),
    ],
)
def test_a_bad_declaration_names_the_table_and_the_index(
    fields: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    index = VectorIndex(
        **{"name": "samples_by_vec", "vector_field": "vec", "dimensions": 8, **kwargs}
    )
    with pytest.raises(ConfigurationError) as caught:
        _register(fields, index)
    text = str(caught.value)
    assert text.startswith("table 'samples', vector index 'samples_by_vec': "), text
    assert message in text, text


def test_sixteen_filter_fields_are_fine() -> None:
    fields = {
        "vec": VectorField(dimensions=8),
        **{f"f{i}": models.IntegerField() for i in range(16)},
    }
    _register(
        fields,
        VectorIndex(
            name="s_v", vector_field="vec", dimensions=8, filter_fields=[f"f{i}" for i in range(16)]
        ),
    )


def test_the_system_check_finds_pgvector_on_this_server() -> None:
    from django.core.checks import run_checks

    messages = run_checks(databases=["default"])
    assert not [m for m in messages if m.id == "reactive.E040"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        assert cursor.fetchone() is not None  # the check's own question, answered yes here


def test_a_database_without_pgvector_gets_a_message_naming_the_fix() -> None:
    """The extension dropped inside this test's transaction (rolled back after it): a search
    is a QueryError naming the migration and the extension, not a psycopg traceback."""
    from reactive.testing import ReactiveClient

    with connection.cursor() as cursor:
        cursor.execute("DROP EXTENSION vector CASCADE")
    outcome = ReactiveClient().call(
        "testapp/vectors:search_points", {"index": "by_l2", "vector": [1.0, 0.0, 0.0]}
    )
    assert isinstance(outcome.error, QueryError), outcome.error
    text = str(outcome.error)
    assert text.startswith("testapp/vectors:search_points: ctx.vector_search('points', 'by_l2')")
    assert "VectorExtension()" in text and "manage.py migrate" in text
