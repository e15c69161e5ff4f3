"""Read-set soundness of `paginate`: cursors, endCursor, maximumRowsRead, and the journal that
pins a subscription's page across re-runs."""

from __future__ import annotations

from typing import Any

import pytest

from reactive import internal_query
from reactive.functions.registry import registry
from tests.helpers import in_mutation, in_query
from tests.soundness_support import (
    assert_sound,
    by_author,
    check,
    make_channel,
    make_messages,
    mutate,
    result_of,
    run_query,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- directed scenarios that hold -----------------------------------------------------------


def test_desc_paginate_with_cursor_and_end_cursor():
    cid = make_channel()
    mids = make_messages(cid, [("ann", s) for s in range(6)])
    q = by_author("ann", "desc")
    p1 = in_query(lambda ctx: q(ctx).paginate({"numItems": 2, "cursor": None})).unwrap()
    p2 = in_query(
        lambda ctx: q(ctx).paginate({"numItems": 2, "cursor": p1["continueCursor"]})
    ).unwrap()
    page = lambda ctx: q(ctx).paginate(  # noqa: E731
        {"numItems": 2, "cursor": p1["continueCursor"], "endCursor": p2["continueCursor"]}
    )
    check(
        page,
        lambda ctx: ctx.db.insert(
            "messages", {"channel": cid, "body": "x", "author": "ann", "score": 3}
        ),
    )
    check(page, lambda ctx: ctx.db.delete("messages", mids[2]))


def test_paginate_zero_items_after_a_cursor():
    """Found at 688872f (the range recorded was empty, yet isDone depends on the next row);
    fixed in 488fbcd. (With the journal the page is also pinned: it need not change.)"""
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 2), ("ann", 3)])
    q = lambda ctx: ctx.db.query("messages").with_index(  # noqa: E731
        "by_channel", lambda q: q.eq("channel", cid)
    )
    first = in_query(lambda ctx: q(ctx).paginate({"numItems": 1, "cursor": None})).unwrap()

    def delete_rest(ctx: Any) -> None:
        for m in mids[1:]:
            ctx.db.delete("messages", m)

    check(
        lambda ctx: q(ctx).paginate({"numItems": 0, "cursor": first["continueCursor"]}),
        delete_rest,
        must_change=False,
    )


def test_first_page_is_pinned_by_its_journal():
    """A fresh page peeks one row past its end to set `isDone`, and records the range only up to
    its last row; the journal (endCursor = that row) makes re-runs independent of the peek."""
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 2)])
    query = lambda ctx: by_author("ann")(ctx).paginate(  # noqa: E731
        {"numItems": 1, "cursor": None}
    )
    check(query, lambda ctx: ctx.db.delete("messages", mids[1]), must_change=False)


# --- from the suite committed in 1c58c49 ----------------------------------------------------


def test_paginated_pages_with_end_cursor_in_desc_order():
    cid = make_channel()
    mids = make_messages(cid, [("ann", i) for i in (10, 20, 30, 40)])
    first = in_query(
        lambda ctx: by_author("ann", "desc")(ctx).paginate({"numItems": 2, "cursor": None})
    ).unwrap()
    page = lambda ctx: by_author("ann", "desc")(ctx).paginate(  # noqa: E731
        {"numItems": 2, "cursor": None, "endCursor": first["continueCursor"]}
    )
    check(page, lambda ctx: ctx.db.patch("messages", mids[0], {"score": 35}))  # into the page
    check(page, lambda ctx: ctx.db.delete("messages", mids[3]))  # out of the page


# --- directed scenarios: bugs (each fails today) --------------------------------------------


def test_bug_journaled_page_capped_by_maximum_rows_read_depends_on_the_peeked_row():
    """With an endCursor (every journaled re-run has one) and maximumRowsRead, `_read_page` fetches
    maximumRowsRead + 1 rows; when capped it records the range only up to the last row returned,
    but whether it is capped (and so `continueCursor`) depends on the row after it.

    A subscriber's first page [A, B] (maximumRowsRead 2) is pinned at B. X is inserted between
    them: the re-run is capped, [A, X], continueCursor X, read set up to X. Deleting B (outside
    that read set) uncaps it: [A, X], continueCursor B. Nobody re-runs it."""
    cid = make_channel()
    a, b = make_messages(cid, [("ann", 1), ("ann", 3)])
    query = lambda ctx: by_author("ann")(ctx).paginate(  # noqa: E731
        {"numItems": 2, "cursor": None, "maximumRowsRead": 2}
    )
    first, journal = subscribe(query)
    in_mutation(
        lambda ctx: ctx.db.insert(
            "messages", {"channel": cid, "body": "x", "author": "ann", "score": 2}
        )
    ).unwrap()
    before = run_query(query, journal)
    assert [d["score"] for d in before.value["page"]] == [1, 2] and not before.value["isDone"]
    written = mutate(lambda ctx: ctx.db.delete("messages", b))
    written.unwrap()
    after = run_query(query, journal)
    assert result_of(after) != result_of(before)
    assert_sound(before, written, after)


def test_bug_paginate_in_a_nested_query_is_not_journaled_and_peeks():
    """paginate() called through `ctx.run_query` runs on the nested call's reader: its journal
    never reaches `Outcome.journal` (the executor reads the top-level reader's), so re-runs are
    fresh, and a fresh page's `isDone` depends on the row after its last one, outside the read
    set. (Recording the range through the peeked row fixes both paths.)"""
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 2)])

    @internal_query(path="soundness:pager")
    def pager(ctx: Any) -> Any:
        return by_author("ann")(ctx).paginate({"numItems": 1, "cursor": None})

    try:
        check(
            lambda ctx: ctx.run_query("soundness:pager", {}),
            lambda ctx: ctx.db.delete("messages", mids[1]),
        )
    finally:
        registry.unregister("soundness:pager")


def test_bug_journal_of_an_empty_first_page_breaks_every_re_run():
    """`paginate({numItems: 0, cursor: null})` answers continueCursor = the START cursor; the
    journal keeps it as endCursor, and `_read_page` refuses START as an endCursor: the
    subscription's first re-run (after any write to the table) turns into "InvalidCursor"."""
    cid = make_channel()
    make_messages(cid, [("ann", 1)])
    subscribe(lambda ctx: by_author("ann")(ctx).paginate({"numItems": 0, "cursor": None}))
