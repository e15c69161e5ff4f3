"""``index_names=``: a Convex index name longer than Django's 30 characters answers for the
model's index of any kind; a mapping to no index, or onto a name another index answers to, is
refused at registration, naming the table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import models
from django.test.utils import isolate_apps
from pgvector.django import VectorField

from reactive.db.tables import TableRegistry
from reactive.errors import ConfigurationError
from reactive.models import ReactiveModel
from reactive.search import SearchIndex, VectorIndex


@pytest.fixture
def model() -> Iterator[type[models.Model]]:
    # an isolated app registry: the model never joins testapp (or its migrations)
    with isolate_apps("tests.testapp"):

        class Post(ReactiveModel):
            room = models.IntegerField()
            body = models.TextField()
            embedding = VectorField(dimensions=3)

            class Meta:
                app_label = "testapp"
                managed = False
                indexes = [
                    models.Index(fields=["room", "body"], name="posts_by_room_and_bo_1a2b"),
                    models.Index(fields=["room"], name="posts_by_room"),
                    SearchIndex(name="posts_search_body_in_1a2b", search_field="body"),
                    VectorIndex(name="posts_vec_1a2b", vector_field="embedding", dimensions=3),
                ]

        yield Post


def test_every_kind_of_index_answers_to_its_convex_name(model: type[models.Model]) -> None:
    table = TableRegistry().register(
        model,
        "posts",
        index_names={
            "by_room_and_body_and_more_words": "posts_by_room_and_bo_1a2b",
            "search_body_in_room_and_more": "posts_search_body_in_1a2b",
            "by_embedding_in_room_and_more": "posts_vec_1a2b",
        },
    )
    index = table.indexes["by_room_and_body_and_more_words"]
    assert index is table.indexes["posts_by_room_and_bo_1a2b"]
    assert index.fields == ("room", "body")
    search = table.search_indexes["search_body_in_room_and_more"]
    assert search is table.search_indexes["posts_search_body_in_1a2b"]
    vector = table.vector_indexes["by_embedding_in_room_and_more"]
    assert vector is table.vector_indexes["posts_vec_1a2b"]
    assert "by_room_and_body_and_more_words" not in table.search_indexes


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"by_long_name": "posts_nothing"},
            "table 'posts': index_names maps 'by_long_name' to 'posts_nothing', which is not an "
            "index of Post (indexes: posts_by_room, posts_by_room_and_bo_1a2b, "
            "posts_search_body_in_1a2b, posts_vec_1a2b)",
        ),
        (
            {"by_room": "posts_by_room_and_bo_1a2b"},  # "by_room" is posts_by_room's short name
            "table 'posts': index_names maps 'by_room' to 'posts_by_room_and_bo_1a2b', but "
            "'by_room' already names another index",
        ),
        (
            {"posts_by_room": "posts_by_room_and_bo_1a2b"},
            "table 'posts': index_names maps 'posts_by_room' to 'posts_by_room_and_bo_1a2b', but "
            "'posts_by_room' already names another index",
        ),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_table(
    model: type[models.Model], mapping: dict[str, str], message: str
) -> None:
    registry = TableRegistry()
    with pytest.raises(ConfigurationError) as caught:
        registry.register(model, "posts", index_names=mapping)
    assert str(caught.value) == message
    assert registry.find("posts") is None
