"""Read-set soundness of full-text search, generated: after random writes, every search a
subscriber holds equals a fresh run (the property and harness of `tests.soundness_support`).

Searches of `articles` over both indexes (English, simple), with and without ``eq`` filters and
``.filter()``, through every terminal operation; writes insert, patch the text, the filter
fields and other columns, replace and delete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactive import ids
from tests import soundness_support as support
from tests.helpers import in_mutation
from tests.soundness_support import OPS, PROPERTY, STATS, check, run_along, run_op
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

small_batches = support.small_batches

BODIES = st.sampled_from(
    ["apple pie", "banana cake", "apple banana", "pie", "cake cake apple", "the end", "", "Pied"]
)
TEXTS = st.sampled_from(
    ["apple", "apple pie", "ban", "pie cake", "cake apple ban", "zzz", "", "pi"]
)
CHANNELS = st.sampled_from(["c0", "c1"])
AUTHORS = st.sampled_from(["x", "y"])
SCORES = st.integers(0, 3)

QUERY = st.fixed_dictionaries(
    {
        "index": st.sampled_from(["search_body", "search_simple"]),
        "text": TEXTS,
        "channel": st.none() | CHANNELS,
        "author": st.none() | AUTHORS,
        "filter": st.sampled_from([None, None, "even"]),
        "op": OPS,
    }
)

WRITE = st.one_of(
    st.tuples(st.just("insert"), BODIES, CHANNELS, AUTHORS, SCORES),
    # a text change of a row the search did not return is the write only the digest reveals
    st.tuples(st.just("patch"), st.integers(0, 9), BODIES, st.none(), st.none(), st.none()),
    st.tuples(
        st.just("patch"),
        st.integers(0, 9),
        st.none() | BODIES,
        st.none() | CHANNELS,
        st.none() | AUTHORS,
        st.none() | SCORES,
    ),
    st.tuples(st.just("replace"), st.integers(0, 9), BODIES, CHANNELS, AUTHORS, SCORES),
    st.tuples(st.just("delete"), st.integers(0, 9)),
)


def search(p: dict[str, Any]) -> Callable[[Any], Any]:
    def make(ctx: Any) -> Any:
        def build(q: Any) -> Any:
            q = q.search("body", p["text"])
            if p["channel"] is not None and p["index"] == "search_body":
                q = q.eq("channel", p["channel"])
            if p["author"] is not None and p["index"] == "search_body":
                q = q.eq("author", p["author"])
            return q

        query = ctx.db.query("articles").with_search_index(p["index"], build)
        if p["filter"] == "even":
            query = query.filter(lambda f: f.eq(f.mod(f.field("score"), 2), 0))
        return query

    return make


def doc(body: str, channel: str, author: str, score: int) -> dict[str, Any]:
    return {"body": body, "channel": channel, "author": author, "score": score}


def write(w: tuple[Any, ...]) -> Callable[[], Callable[[Any], Any]]:
    def pick() -> Callable[[Any], Any]:
        if w[0] == "insert":
            return lambda ctx: ctx.db.insert("articles", doc(*w[1:]))
        live = [
            ids.encode_id("articles", pk)
            for pk in Article.objects.order_by("id").values_list("id", flat=True)
        ]
        if not live:
            return lambda ctx: None
        target = live[w[1] % len(live)]
        if w[0] == "patch":
            names = ("body", "channel", "author", "score")
            fields = {k: x for k, x in zip(names, w[2:], strict=True) if x is not None}
            return lambda ctx: ctx.db.patch("articles", target, fields)
        if w[0] == "replace":
            return lambda ctx: ctx.db.replace("articles", target, doc(*w[2:]))
        return lambda ctx: ctx.db.delete("articles", target)

    return pick


@PROPERTY
@given(
    rows=st.lists(st.tuples(BODIES, CHANNELS, AUTHORS, SCORES), min_size=1, max_size=8),
    queries=st.lists(QUERY, min_size=6, max_size=6),
    writes=st.lists(WRITE, min_size=1, max_size=3),
)
def articles_property(rows: list[Any], queries: list[dict[str, Any]], writes: list[Any]) -> None:
    Article.objects.all().delete()
    in_mutation(lambda ctx: [ctx.db.insert("articles", doc(*r)) for r in rows]).unwrap()
    bodies = [run_op(search(p), p["op"]) for p in queries]
    run_along(bodies, [write(w) for w in writes])


def test_property_search(small_batches: None) -> None:
    STATS.update(checked=0, changed=0)
    articles_property()
    assert STATS["changed"] > 20, STATS  # the writes did change results: the test has teeth


def test_a_text_change_of_a_row_not_returned_re_runs() -> None:
    """Only the captured digest of the text says this row may match now."""
    ids_ = in_mutation(
        lambda ctx: [ctx.db.insert("articles", doc(b, "c0", "x", 0)) for b in ("apple", "the end")]
    ).unwrap()
    query = lambda ctx: search(  # noqa: E731
        {"index": "search_body", "text": "apple", "channel": "c0", "author": None, "filter": None}
    )(ctx).collect()
    check(query, lambda ctx: ctx.db.patch("articles", ids_[1], {"body": "apple pie"}))
