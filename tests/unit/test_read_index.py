"""The read index narrows a write's candidates without losing any subscription it touches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reactive.readset import Bound, DocRead, DocWrite, IndexRangeRead, ReadSet, TableRead
from reactive.sync.read_index import ReadIndex

TABLES = ["a", "b"]
FIELDS = ("x", "y")
values = st.one_of(st.none(), st.integers(-2, 2), st.sampled_from([1.0, 0.5, float("nan")]))


def bound(prefix_len: int) -> st.SearchStrategy[Bound | None]:
    return st.one_of(
        st.none(),
        st.builds(
            Bound,
            st.lists(st.integers(-2, 2), min_size=1, max_size=prefix_len).map(tuple),
            st.booleans(),
        ),
    )


reads = st.one_of(
    st.builds(DocRead, st.sampled_from(TABLES), st.integers(0, 4)),
    st.builds(TableRead, st.sampled_from(TABLES)),
    st.builds(
        IndexRangeRead,
        st.sampled_from(TABLES),
        st.just("by_xy"),
        st.just(FIELDS),
        bound(2),
        bound(2),
    ),
    # an equality on the first field, the common case the index buckets
    st.integers(-2, 2).flatmap(
        lambda v: st.builds(
            IndexRangeRead,
            st.sampled_from(TABLES),
            st.just("by_xy"),
            st.just(FIELDS),
            st.just(Bound((v,), True)),
            st.just(Bound((v,), True)),
        )
    ),
)
rows = st.one_of(
    st.none(),
    st.fixed_dictionaries({"x": values, "y": values}),
    st.fixed_dictionaries({"y": values}),
)  # a row lacking a bucketed column
writes = st.builds(
    DocWrite,
    st.sampled_from(TABLES),
    st.integers(0, 4),
    st.sampled_from(["insert", "update", "delete"]),
    rows,
    rows,
)


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(
    st.lists(st.lists(reads, min_size=1, max_size=3), max_size=8),
    st.lists(writes, min_size=1, max_size=5),
    st.data(),
)
def test_candidates_hold_every_touched_subscription(sets, ws, data):
    index = ReadIndex()
    subs = {i: ReadSet(list(r)) for i, r in enumerate(sets)}
    for i, readset in subs.items():
        index.add(i, readset)
    # some subscriptions go away, some are re-filed with other reads
    for i in data.draw(st.lists(st.sampled_from(sorted(subs)), max_size=3)) if subs else []:
        if data.draw(st.booleans()):
            index.remove(i)
            subs.pop(i, None)
        else:
            subs[i] = ReadSet(data.draw(st.lists(reads, min_size=1, max_size=2)))
            index.add(i, subs[i])
    for write in ws:
        touched = {i for i, readset in subs.items() if readset.overlaps(write)}
        candidates = index.candidates(write)
        assert touched <= candidates
        assert candidates <= set(subs)  # nothing removed comes back


def test_an_equality_range_is_not_a_candidate_for_other_values():
    index = ReadIndex()
    eq = IndexRangeRead("a", "by_xy", FIELDS, Bound((1,), True), Bound((1,), True))
    index.add("one", ReadSet([eq]))
    index.add(
        "two", ReadSet([IndexRangeRead("a", "by_xy", FIELDS, Bound((2,), True), Bound((2,), True))])
    )
    write = DocWrite("a", 9, "update", {"x": 2, "y": 0}, {"x": 2, "y": 1})
    assert index.candidates(write) == {"two"}
    moved = DocWrite("a", 9, "update", {"x": 2, "y": 0}, {"x": 1, "y": 0})
    assert index.candidates(moved) == {"one", "two"}
    assert index.candidates(DocWrite("b", 9, "insert", None, {"x": 1})) == set()
    index.remove("one")
    assert index.candidates(moved) == {"two"}
