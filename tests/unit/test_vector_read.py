"""`readset.VectorRead`: which writes can change a vector search's result. A row entering or
leaving the filter, or a matching row's vector changing, overlaps; other columns, and rows
outside the filter, do not. Unknown columns count as a change."""

from __future__ import annotations

from typing import Any

import pytest

from reactive.readset import DocWrite, ReadSet, VectorRead

D = "embedding#digest"
genre_a_or_b = VectorRead("movies", "by_embedding", D, (("genre", "a"), ("genre", "b")))
everything = VectorRead("movies", "by_embedding", D)


def row(genre: Any = "a", digest: Any = "v1", **more: Any) -> dict[str, Any]:
    return {"id": 1, "genre": genre, D: digest, **more}


def insert(new: dict[str, Any]) -> DocWrite:
    return DocWrite("movies", 1, "insert", None, new)


def delete(old: dict[str, Any]) -> DocWrite:
    return DocWrite("movies", 1, "delete", old, None)


def update(old: dict[str, Any], new: dict[str, Any]) -> DocWrite:
    return DocWrite("movies", 1, "update", old, new)


@pytest.mark.parametrize(
    ("write", "changes"),
    [
        (insert(row("a")), True),
        (insert(row("b")), True),
        (insert(row("c")), False),
        (delete(row("a")), True),
        (delete(row("c")), False),
        (update(row("a"), row("a", digest="v2")), True),  # the vector moved
        (update(row("a"), row("a")), False),  # another column: the digest is the same
        (update(row("a"), row("c")), True),  # left the filter
        (update(row("c"), row("b")), True),  # entered it
        (update(row("a"), row("b")), False),  # from one passing value to another
        (update(row("c"), row("c", digest="v2")), False),  # outside the filter
        (update(row("c"), row("d")), False),
        (update(row("a"), {"id": 1, "genre": "a"}), True),  # no digest: unknown
        (update({"id": 1}, {"id": 1}), True),  # no filter column: unknown
        (DocWrite("movies", None, "delete", whole_table=True), True),  # a TRUNCATE
    ],
)
def test_a_filtered_search(write: DocWrite, changes: bool) -> None:
    assert genre_a_or_b.changed_by(write) is changes
    assert ReadSet([genre_a_or_b]).overlaps(write) is changes


@pytest.mark.parametrize(
    ("write", "changes"),
    [
        (insert(row("c")), True),
        (delete(row("c")), True),
        (update(row("a"), row("z")), False),  # no filter: a filter column is any column
        (update(row("a"), row("a", digest="v2")), True),
        (update(row("a", digest=None), row("a", digest="v1")), True),  # a vector set
    ],
)
def test_an_unfiltered_search(write: DocWrite, changes: bool) -> None:
    assert everything.changed_by(write) is changes


def test_clauses_over_two_fields_and_null() -> None:
    read = VectorRead("movies", "i", D, (("genre", "a"), ("owner", None)))
    assert read.changed_by(insert(row("c", owner=None)))  # passes through owner IS NULL
    assert not read.changed_by(insert(row("c", owner="x")))
    assert read.changed_by(update(row("c", owner="x"), row("c", owner=None)))


def test_another_table_is_never_touched() -> None:
    write = DocWrite("posts", 1, "insert", None, row("a"))
    assert not ReadSet([genre_a_or_b]).overlaps(write)
