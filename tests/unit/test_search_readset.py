"""The search read kind (`readset.SearchRead`): which writes re-run a full-text search (pure).

A search of `articles` with ``eq("channel", "a")`` records the rows of channel "a" as the rows
it may have matched, watching the text's digest and the tie-order columns; the rows returned
are `DocRead`s beside it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reactive.readset import DocRead, DocWrite, ReadSet, SearchRead
from reactive.sync.read_index import ReadIndex

WATCHED = ("body#md5", "creation_time", "id")


def row(channel="a", digest="d1", ct=1.0, pk=1, author="x", **extra):
    return {
        "channel": channel,
        "author": author,
        "body#md5": digest,
        "creation_time": ct,
        "id": pk,
        **extra,
    }


def search(any_column=False, filters=(("channel", "a"),)):
    return ReadSet([SearchRead("articles", "search_body", filters, WATCHED, any_column)])


def upd(old, new, pk=1):
    return DocWrite("articles", pk, "update", old, new)


def test_insert_and_delete_inside_the_filter_re_run():
    assert search().overlaps(DocWrite("articles", 9, "insert", None, row(pk=9)))
    assert search().overlaps(DocWrite("articles", 1, "delete", row(), None))


def test_insert_and_delete_outside_the_filter_do_not():
    assert not search().overlaps(DocWrite("articles", 9, "insert", None, row("b", pk=9)))
    assert not search().overlaps(DocWrite("articles", 1, "delete", row("b"), None))


def test_a_text_change_inside_the_filter_re_runs():
    assert search().overlaps(upd(row(digest="d1"), row(digest="d2")))
    assert search().overlaps(upd(row(digest=None), row(digest="d2")))  # NULL text gets one


def test_a_text_change_outside_the_filter_does_not():
    assert not search().overlaps(upd(row("b", digest="d1"), row("b", digest="d2")))


def test_moving_into_or_out_of_the_filter_re_runs():
    assert search().overlaps(upd(row("b"), row("a")))
    assert search().overlaps(upd(row("a"), row("b")))


def test_an_update_of_other_columns_inside_the_filter_does_not():
    # author is captured (another index's filter field) but not this search's: same digest,
    # same channel, same order key: the search's result cannot change
    assert not search().overlaps(upd(row(author="x"), row(author="y")))


def test_a_change_of_the_tie_order_re_runs():
    assert search().overlaps(upd(row(ct=1.0), row(ct=2.0)))


def test_with_post_filters_any_update_inside_the_filter_re_runs():
    assert search(any_column=True).overlaps(upd(row(author="x"), row(author="y")))
    assert not search(any_column=True).overlaps(upd(row("b", author="x"), row("b", author="y")))


def test_a_returned_row_re_runs_on_any_change():
    reads = search()
    reads.add(DocRead("articles", 1))
    assert reads.overlaps(upd(row(author="x"), row(author="y")))
    assert not reads.overlaps(upd(row(author="x", pk=2), row(author="y", pk=2), pk=2))


def test_no_filters_means_every_row_is_inside():
    reads = search(filters=())
    assert reads.overlaps(DocWrite("articles", 9, "insert", None, row("zzz", pk=9)))
    assert not reads.overlaps(upd(row(author="x"), row(author="y")))


def test_a_row_it_cannot_place_is_inside():
    assert search().overlaps(upd({"id": 1}, {"id": 1}))  # the filter column is missing
    assert search().overlaps(upd({"channel": "a", "id": 1}, {"channel": "a", "id": 1}))
    assert search().overlaps(DocWrite("articles", None, "update", whole_table=True))


def test_other_tables_are_untouched():
    assert not search().overlaps(DocWrite("messages", 1, "insert", None, row()))


def test_filter_values_compare_as_the_index_orders_them():
    reads = search(filters=(("channel", None),))
    assert reads.overlaps(DocWrite("articles", 9, "insert", None, row(None, pk=9)))
    assert not reads.overlaps(DocWrite("articles", 9, "insert", None, row("a", pk=9)))
    ints = search(filters=(("channel", 1),))
    assert ints.overlaps(DocWrite("articles", 9, "insert", None, row(1.0, pk=9)))


# --- the sync engine's read index files a search by its first filter value ------------------

VALUE = st.none() | st.sampled_from(["a", "b"])
FILTERS = st.one_of(
    st.just(()),
    st.tuples(st.tuples(st.sampled_from(["channel", "author"]), VALUE)),
    st.tuples(st.tuples(st.just("channel"), VALUE), st.tuples(st.just("author"), VALUE)),
    st.tuples(st.tuples(st.just("author"), VALUE), st.tuples(st.just("channel"), VALUE)),
)
SEARCHES = st.builds(
    SearchRead,
    st.sampled_from(["articles", "articles", "other"]),
    st.just("search_body"),
    FILTERS,
    st.just(WATCHED),
    st.booleans(),
)
ROWS = st.none() | st.fixed_dictionaries(
    {
        "channel": VALUE,
        "author": VALUE,
        "body#md5": st.sampled_from(["d1", "d2"]),
        "creation_time": st.just(1.0),
        "id": st.just(1),
    }
)


@settings(max_examples=300, derandomize=True, database=None)
@given(
    searches=st.lists(SEARCHES, min_size=1, max_size=6),
    table=st.sampled_from(["articles", "articles", "other"]),
    old=ROWS,
    new=ROWS,
)
def test_the_read_index_never_drops_a_touched_search(searches, table, old, new) -> None:
    index: ReadIndex[int] = ReadIndex()
    for i, read in enumerate(searches):
        index.add(i, ReadSet([read]))
    if old is None and new is None:
        return
    op = "insert" if old is None else "delete" if new is None else "update"
    write = DocWrite(table, 1, op, old, new)
    touched = {i for i, read in enumerate(searches) if ReadSet([read]).overlaps(write)}
    assert touched <= index.candidates(write)


def test_the_read_index_skips_a_search_of_another_filter_value() -> None:
    index: ReadIndex[str] = ReadIndex()
    index.add("a", search())
    index.add("b", search(filters=(("channel", "b"),)))
    index.add("all", search(filters=()))
    write = DocWrite("articles", 9, "insert", None, row("b", pk=9))
    assert index.candidates(write) == {"b", "all"}
