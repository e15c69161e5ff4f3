"""Read-set soundness: a write that changes a query's result must overlap the query's read set.

Every scenario runs a query through the real executor, keeps its ``Outcome.reads``, performs a
write through the real executor (its ``Outcome.writes``), re-runs the query and checks

    result changed  ==>  reads.overlaps_any(writes)

which is exactly the test the sync engine will use to decide which live queries to re-run.
Over-approximation is fine; a miss means a subscriber keeps a stale result forever.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Q

from reactive import ids
from reactive.readset import ReadSet
from tests.helpers import in_mutation, in_query

pytestmark = pytest.mark.django_db(transaction=True)


# --- the property ---------------------------------------------------------------------------

def result_of(outcome: Any) -> Any:
    """What a client would see: the encoded value, or the error (a failed query is a result)."""
    if outcome.error is not None:
        return ("error", type(outcome.error).__name__, str(outcome.error))
    return ("ok", outcome.encoded)


def reads_of(outcome: Any) -> ReadSet:
    """The read set the sync engine would subscribe with (none recorded = an empty set)."""
    return outcome.reads if outcome.reads is not None else ReadSet()


def check(query: Callable[[Any], Any], write: Callable[[Any], Any], *,
          must_change: bool = True) -> tuple[Any, Any]:
    """Run ``query``, then ``write``, then ``query`` again; assert the soundness property."""
    before = in_query(query)
    written = in_mutation(write)
    written.unwrap()
    after = in_query(query)
    changed = result_of(before) != result_of(after)
    if must_change:
        assert changed, "scenario set-up: the write was meant to change the result"
    if changed:
        assert reads_of(before).overlaps_any(written.writes), (
            f"MISSED INVALIDATION\n  reads:  {reads_of(before).reads}\n"
            f"  writes: {written.writes.writes}\n  before: {result_of(before)}\n"
            f"  after:  {result_of(after)}")
    return before, after


# --- fixtures -------------------------------------------------------------------------------

def make_channel(name: str = "general") -> str:
    return in_mutation(lambda ctx: ctx.db.insert("channels", {"name": name})).unwrap()


def make_messages(cid: str, rows: list[tuple[str, int]]) -> list[str]:
    return in_mutation(lambda ctx: [
        ctx.db.insert("messages", {"channel": cid, "body": f"b{i}", "author": a, "score": s})
        for i, (a, s) in enumerate(rows)]).unwrap()


def pk(mid: str) -> Any:
    return ids.pk_of("messages", mid)


# --- directed scenarios: bugs ---------------------------------------------------------------

def test_by_id_refuses_a_creation_time_bound():
    """`by_id`'s key is the id alone: a `_creationTime` bound after it is refused (as in
    Convex), rather than recorded as a range over a column the key does not have."""
    from reactive.errors import QueryError

    cid = make_channel()
    (mid,) = make_messages(cid, [("ann", 1)])
    with pytest.raises(QueryError, match="out of order"):
        in_query(lambda ctx: ctx.db.query("messages").with_index(
            "by_id", lambda q: q.eq("_id", mid).gt("_creationTime", 0)).collect()).unwrap()


def test_paginate_zero_items_with_cursor_records_nothing():
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 2), ("ann", 3)])
    first = in_query(lambda ctx: ctx.db.query("messages").with_index(
        "by_channel", lambda q: q.eq("channel", cid)).paginate(
        {"numItems": 1, "cursor": None})).unwrap()

    def delete_rest(ctx):
        for m in mids[1:]:
            ctx.db.delete("messages", m)

    check(lambda ctx: ctx.db.query("messages").with_index(
              "by_channel", lambda q: q.eq("channel", cid)).paginate(
              {"numItems": 0, "cursor": first["continueCursor"]}),
          delete_rest)


def test_failed_query_keeps_its_read_set():
    """unique() over two rows throws; deleting one makes it succeed: the error must re-run."""
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 1)])
    check(lambda ctx: ctx.db.query("messages").with_index(
              "by_author_score", lambda q: q.eq("author", "ann").eq("score", 1)).unique(),
          lambda ctx: ctx.db.delete("messages", mids[0]))


def test_django_q_filter_with_a_join_depends_on_the_joined_table():
    cid = make_channel("general")
    make_messages(cid, [("ann", 1)])
    check(lambda ctx: ctx.db.query("messages").filter(Q(channel__name="general")).collect(),
          lambda ctx: ctx.db.patch("channels", cid, {"name": "renamed"}))


# --- directed scenarios: the ranges each read shape records ---------------------------------

def by_author(author: str, order: str = "asc"):
    return lambda ctx: ctx.db.query("messages").with_index(
        "by_author_score", lambda q: q.eq("author", author)).order(order)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_take_cut_sees_a_row_moving_into_the_prefix(order):
    cid = make_channel()
    mids = make_messages(cid, [("ann", 10), ("ann", 20), ("ann", 30), ("bob", 15)])
    query = lambda ctx: [d["score"] for d in by_author("ann", order)(ctx).take(2)]  # noqa: E731
    # bob's row becomes ann's, landing inside the two rows read (asc: 10, 15, ...; desc: 30, 20)
    score = 15 if order == "asc" else 25
    check(query, lambda ctx: ctx.db.patch("messages", mids[3], {"author": "ann", "score": score}))


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_take_cut_sees_a_row_leaving(order):
    cid = make_channel()
    mids = make_messages(cid, [("ann", 10), ("ann", 20), ("ann", 30)])
    victim = mids[0] if order == "asc" else mids[2]
    check(lambda ctx: [d["score"] for d in by_author("ann", order)(ctx).take(2)],
          lambda ctx: ctx.db.delete("messages", victim))


def test_rows_beyond_a_take_cut_are_not_read():
    cid = make_channel()
    make_messages(cid, [("ann", 10), ("ann", 20), ("ann", 30)])
    before = in_query(lambda ctx: by_author("ann")(ctx).take(2))
    written = in_mutation(lambda ctx: ctx.db.insert("messages", {
        "channel": cid, "body": "late", "author": "ann", "score": 99}))
    written.unwrap()
    assert not before.reads.overlaps_any(written.writes)  # precise, not just sound


def test_iteration_stopped_early_still_covers_what_it_fetched():
    cid = make_channel()
    mids = make_messages(cid, [("ann", i) for i in range(5)])

    def first_two(ctx):
        out = []
        for doc in by_author("ann")(ctx):
            out.append(doc["score"])
            if len(out) == 2:
                break
        return out

    check(first_two, lambda ctx: ctx.db.delete("messages", mids[1]))


def test_get_of_a_missing_id_sees_nothing_until_it_exists():
    cid = make_channel()
    (mid,) = make_messages(cid, [("ann", 1)])
    in_mutation(lambda ctx: ctx.db.delete("messages", mid)).unwrap()
    before = in_query(lambda ctx: ctx.db.get("messages", mid))
    assert before.unwrap() is None and before.reads.reads  # the id itself is recorded


def test_range_bounds_see_rows_crossing_them():
    cid = make_channel()
    mids = make_messages(cid, [("ann", 5), ("ann", 15)])
    query = lambda ctx: [d["score"] for d in ctx.db.query("messages").with_index(  # noqa: E731
        "by_author_score", lambda q: q.eq("author", "ann").gt("score", 10).lte("score", 20)
    ).collect()]
    check(query, lambda ctx: ctx.db.patch("messages", mids[0], {"score": 12}))  # moves in
    check(query, lambda ctx: ctx.db.patch("messages", mids[1], {"score": 25}))  # moves out


def test_paginated_pages_with_end_cursor_in_desc_order():
    cid = make_channel()
    mids = make_messages(cid, [("ann", i) for i in (10, 20, 30, 40)])
    first = in_query(lambda ctx: by_author("ann", "desc")(ctx).paginate(
        {"numItems": 2, "cursor": None})).unwrap()
    page = lambda ctx: by_author("ann", "desc")(ctx).paginate(  # noqa: E731
        {"numItems": 2, "cursor": None, "endCursor": first["continueCursor"]})
    check(page, lambda ctx: ctx.db.patch("messages", mids[0], {"score": 35}))  # into the page
    check(page, lambda ctx: ctx.db.delete("messages", mids[3]))  # out of the page


# --- random scenarios -----------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

QUERY_SHAPES = st.fixed_dictionaries({
    "order": st.sampled_from(["asc", "desc"]),
    "low": st.none() | st.integers(0, 40),
    "high": st.none() | st.integers(0, 40),
    "limit": st.none() | st.integers(1, 4),
})
WRITES = st.fixed_dictionaries({
    "op": st.sampled_from(["insert", "patch", "delete"]),
    "target": st.integers(0, 5),
    "author": st.sampled_from(["ann", "bob"]),
    "score": st.integers(0, 40),
})


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=QUERY_SHAPES, write=WRITES)
def test_random_ranges_and_writes(shape, write):
    """Any range/order/limit over ann's scores, any single write: a change implies overlap."""
    tag = uuid.uuid4().hex[:8]  # rows accumulate across examples: each gets its own authors
    ann, bob = f"ann-{tag}", f"bob-{tag}"
    cid = make_channel(f"c-{tag}")
    mids = make_messages(cid, [(ann, 5), (ann, 15), (ann, 25), (bob, 20), (ann, 35), (bob, 10)])

    def query(ctx):
        def rng(q):
            q = q.eq("author", ann)
            if shape["low"] is not None:
                q = q.gte("score", shape["low"])
            if shape["high"] is not None:
                q = q.lt("score", shape["high"])
            return q

        qs = ctx.db.query("messages").with_index("by_author_score", rng).order(shape["order"])
        docs = qs.take(shape["limit"]) if shape["limit"] else qs.collect()
        return [(d["score"], d["_id"]) for d in docs]

    def apply(ctx):
        author = ann if write["author"] == "ann" else bob
        if write["op"] == "insert":
            ctx.db.insert("messages", {"channel": cid, "body": "new", "author": author,
                                       "score": write["score"]})
        elif write["op"] == "patch":
            ctx.db.patch("messages", mids[write["target"]],
                         {"author": author, "score": write["score"]})
        else:
            ctx.db.delete("messages", mids[write["target"]])

    check(query, apply, must_change=False)
