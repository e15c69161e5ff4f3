"""Read-set soundness, directed: what `ctx.db.get` and `ctx.db.query` (ranges, take cuts,
unique, iteration, filters, joins, failures) record must cover the writes that change them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Q

from tests.helpers import in_mutation, in_query
from tests.soundness_support import (
    by_author,
    check,
    make_channel,
    make_messages,
    mutate,
    reads_of,
    run_query,
)
from tests.testapp.models import Channel

pytestmark = pytest.mark.django_db(transaction=True)


# --- directed scenarios that hold -----------------------------------------------------------


def test_desc_take_cut_sees_insert_above_and_move_into_range():
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 5), ("ann", 9)])
    q = lambda ctx: by_author("ann", "desc")(ctx).take(2)  # noqa: E731
    check(
        q,
        lambda ctx: ctx.db.insert(
            "messages", {"channel": cid, "body": "x", "author": "ann", "score": 7}
        ),
    )
    check(q, lambda ctx: ctx.db.patch("messages", mids[0], {"score": 100}))  # moves in
    check(q, lambda ctx: ctx.db.patch("messages", mids[2], {"author": "bob"}))  # moves out


def test_unique_reads_two_rows_and_sees_the_second_arrive():
    cid = make_channel()
    make_messages(cid, [("ann", 1)])
    check(
        lambda ctx: by_author("ann")(ctx).unique(),
        lambda ctx: ctx.db.insert(
            "messages", {"channel": cid, "body": "x", "author": "ann", "score": 2}
        ),
    )


def test_get_of_a_missing_id_and_a_deleted_row():
    cid = make_channel()
    (mid,) = make_messages(cid, [("ann", 1)])
    check(lambda ctx: ctx.db.get("messages", mid), lambda ctx: ctx.db.delete("messages", mid))
    out = run_query(lambda ctx: ctx.db.get("messages", mid))
    assert out.unwrap() is None and len(reads_of(out)) == 1


def test_cascade_delete_reaches_queries_on_the_child_table():
    cid = make_channel()
    make_messages(cid, [("ann", 1), ("bob", 2)])
    check(lambda ctx: by_author("bob")(ctx).collect(), lambda ctx: ctx.db.delete("channels", cid))


def test_by_id_refuses_a_creation_time_bound():
    """Found at 688872f: `by_id` accepted `.gt("_creationTime")` after `eq("_id")` though its key
    is `(id,)`, so the recorded range held no key at all. Fixed in 488fbcd: refused, as in Convex.
    """
    from reactive.errors import QueryError

    cid = make_channel()
    (mid,) = make_messages(cid, [("ann", 1)])
    with pytest.raises(QueryError, match="out of order"):
        run_query(
            lambda ctx: (
                ctx.db.query("messages")
                .with_index("by_id", lambda q: q.eq("_id", mid).gt("_creationTime", 0))
                .collect()
            )
        ).unwrap()


def test_failed_query_keeps_its_read_set():
    """Found at 688872f (`Outcome.reads` was None on error); fixed in 488fbcd."""
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 1)])
    check(
        lambda ctx: (
            ctx.db.query("messages")
            .with_index("by_author_score", lambda q: q.eq("author", "ann").eq("score", 1))
            .unique()
        ),
        lambda ctx: ctx.db.delete("messages", mids[0]),
    )


def test_failed_query_after_get_keeps_its_read_set():
    from reactive import ConvexError

    cid = make_channel()

    def must_be_open(ctx: Any) -> Any:
        doc = ctx.db.get("channels", cid)
        if doc["topic"] != "open":
            raise ConvexError("closed")
        return doc["name"]

    check(must_be_open, lambda ctx: ctx.db.patch("channels", cid, {"topic": "open"}))


def test_django_q_filter_across_a_relation_reads_the_joined_table():
    """Found at 688872f (only the messages range was recorded); fixed in 488fbcd/8876912."""
    cid = make_channel("general")
    make_messages(cid, [("ann", 1)])
    check(
        lambda ctx: ctx.db.query("messages").filter(Q(channel__name="general")).collect(),
        lambda ctx: ctx.db.patch("channels", cid, {"name": "renamed"}),
    )


# --- from the suite committed in 1c58c49 ----------------------------------------------------


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_take_cut_sees_a_row_moving_into_the_prefix(order: str) -> None:
    cid = make_channel()
    mids = make_messages(cid, [("ann", 10), ("ann", 20), ("ann", 30), ("bob", 15)])
    query = lambda ctx: [d["score"] for d in by_author("ann", order)(ctx).take(2)]  # noqa: E731
    # bob's row becomes ann's, landing inside the two rows read (asc: 10, 15, ...; desc: 30, 20)
    score = 15 if order == "asc" else 25
    check(query, lambda ctx: ctx.db.patch("messages", mids[3], {"author": "ann", "score": score}))


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_take_cut_sees_a_row_leaving(order: str) -> None:
    cid = make_channel()
    mids = make_messages(cid, [("ann", 10), ("ann", 20), ("ann", 30)])
    victim = mids[0] if order == "asc" else mids[2]
    check(
        lambda ctx: [d["score"] for d in by_author("ann", order)(ctx).take(2)],
        lambda ctx: ctx.db.delete("messages", victim),
    )


def test_rows_beyond_a_take_cut_are_not_read():
    cid = make_channel()
    make_messages(cid, [("ann", 10), ("ann", 20), ("ann", 30)])
    before = run_query(lambda ctx: by_author("ann")(ctx).take(2))
    written = mutate(
        lambda ctx: ctx.db.insert(
            "messages", {"channel": cid, "body": "late", "author": "ann", "score": 99}
        )
    )
    written.unwrap()
    assert not before.reads.overlaps_any(written.outcome.writes)  # precise, not just sound
    assert not before.reads.overlaps_any(written.captured)


def test_iteration_stopped_early_still_covers_what_it_fetched():
    cid = make_channel()
    mids = make_messages(cid, [("ann", i) for i in range(5)])

    def first_two(ctx: Any) -> list[Any]:
        out = []
        for doc in by_author("ann")(ctx):
            out.append(doc["score"])
            if len(out) == 2:
                break
        return out

    check(first_two, lambda ctx: ctx.db.delete("messages", mids[1]))


def test_range_bounds_see_rows_crossing_them():
    cid = make_channel()
    mids = make_messages(cid, [("ann", 5), ("ann", 15)])
    query = lambda ctx: [  # noqa: E731
        d["score"]
        for d in ctx.db.query("messages")
        .with_index(
            "by_author_score", lambda q: q.eq("author", "ann").gt("score", 10).lte("score", 20)
        )
        .collect()
    ]
    check(query, lambda ctx: ctx.db.patch("messages", mids[0], {"score": 12}))  # moves in
    check(query, lambda ctx: ctx.db.patch("messages", mids[1], {"score": 25}))  # moves out


# --- directed scenarios: bugs (each fails today) --------------------------------------------


def test_bug_query_over_the_read_limit_records_no_range():
    """`_run` records its range only after `_fetch` returns; when the documents-read limit stops
    the fetch (LimitExceeded), the failed query's read set lacks the range it scanned, so the
    error never goes away once rows are deleted and the query would fit again."""
    from django.test import override_settings

    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 2), ("ann", 3)])
    with override_settings(REACTIVE={"LIMITS": {"documents_read": 2}}):
        check(
            lambda ctx: by_author("ann")(ctx).collect(),
            lambda ctx: ctx.db.delete("messages", mids[0]),
        )


def test_bug_django_q_filter_with_a_subquery_reads_another_table():
    """`_record_joins` looks at the joins of the outer query only; a subquery (`__in=` a
    queryset, `Exists`) reads `channels` without any join, and no read of it is recorded."""
    cid = make_channel("general")
    make_messages(cid, [("ann", 1)])
    check(
        lambda ctx: (
            ctx.db.query("messages")
            .filter(Q(channel__in=Channel.objects.filter(name="general")))
            .collect()
        ),
        lambda ctx: ctx.db.patch("channels", cid, {"name": "renamed"}),
    )


def test_bug_django_q_filter_with_exists_reads_another_table():
    from django.db.models import Exists, OuterRef

    cid = make_channel("general")
    make_messages(cid, [("ann", 1)])
    general = Exists(Channel.objects.filter(pk=OuterRef("channel_id"), name="general"))
    check(
        lambda ctx: ctx.db.query("messages").filter(Q(general)).collect(),
        lambda ctx: ctx.db.patch("channels", cid, {"name": "renamed"}),
    )


def test_bug_filter_neq_with_the_field_on_the_right():
    """`q.neq(value, field)` must equal `q.neq(field, value)`; Convex says null != x is true.
    `neq` adds `OR field IS NULL` using its *first* operand, so with the field second it adds
    `value IS NULL` instead: `neq(2.5, rating)` drops rows whose rating is null, and
    `neq(None, rating)` (`NULL IS NULL`) keeps every row."""
    cid = make_channel()
    in_mutation(
        lambda ctx: [
            ctx.db.insert("messages", {"channel": cid, "body": f"r{r}", "author": "a", "rating": r})
            for r in (None, 1.0, 2.5)
        ]
    ).unwrap()

    def bodies(pred: Any) -> list[str]:
        return sorted(
            d["body"]
            for d in in_query(lambda ctx: ctx.db.query("messages").filter(pred).collect()).unwrap()
        )

    assert bodies(lambda q: q.neq(q.field("rating"), 2.5)) == ["r1.0", "rNone"]
    assert bodies(lambda q: q.neq(2.5, q.field("rating"))) == ["r1.0", "rNone"]
    assert bodies(lambda q: q.neq(None, q.field("rating"))) == ["r1.0", "r2.5"]
