"""Read-set soundness, generated: data, query shapes and writes drawn by hypothesis.

The property and its harness are in `tests.soundness_support`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactive import ids
from reactive.db.tables import tables
from reactive.readset import key_of
from tests import soundness_support as support
from tests.helpers import in_mutation, in_query
from tests.soundness_support import (
    OPS,
    PROPERTY,
    STATS,
    THING_COLUMNS,
    THING_ROW,
    VALUES,
    Thing,
    build,
    check,
    make_channel,
    make_messages,
    nullable,
    run_along,
    run_op,
    thing_doc,
)
from tests.testapp.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
small_batches = support.small_batches
things = support.things


# --- property: the test app's messages (text, int, FK, float creation time) -----------------

AUTHORS = st.sampled_from(["a", "b", "B", "é", "ab"])


SCORES = st.integers(-1, 2)


MESSAGE_SHAPES = [
    "default",
    "creation_gt",
    "creation_lt",
    "channel",
    "channel_creation",
    "author",
    "author_score_eq",
    "author_score_gt",
    "author_score_lte",
    "author_range",
    "author_both",
    "id_range",
]


MESSAGE_QUERY = st.fixed_dictionaries(
    {
        "shape": st.sampled_from(MESSAGE_SHAPES),
        "order": st.sampled_from(["asc", "desc"]),
        "op": OPS,
        "filter": st.sampled_from([None, None, "not_a", "even"]),
        "author": AUTHORS,
        "score": SCORES,
        "score2": SCORES,
        "channel": st.integers(0, 1),
        "pivot": st.integers(0, 8),
        "incl": st.booleans(),
    }
)


MESSAGE_WRITE = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 1), AUTHORS, SCORES),
    st.tuples(
        st.just("patch"),
        st.integers(0, 9),
        st.none() | AUTHORS,
        st.none() | SCORES,
        st.none() | st.integers(0, 1),
    ),
    st.tuples(st.just("replace"), st.integers(0, 9), AUTHORS, SCORES),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.just(-1)),  # the newest row: often the last of a range
    st.tuples(st.just("delete_channel"), st.integers(0, 1)),
)


def message_range(
    p: dict[str, Any], cids: list[str], cts: list[float], mids: list[str]
) -> tuple[str | None, Any]:
    pivot = cts[p["pivot"] % len(cts)] if cts else 0.0
    lower = "gte" if p["incl"] else "gt"
    upper = "lte" if p["incl"] else "lt"
    cid, author = cids[p["channel"]], p["author"]
    lo, hi = sorted([p["score"], p["score2"]])
    return {
        "default": (None, None),
        "creation_gt": ("by_creation_time", lambda q: getattr(q, lower)("_creationTime", pivot)),
        "creation_lt": ("by_creation_time", lambda q: getattr(q, upper)("_creationTime", pivot)),
        "channel": ("by_channel", lambda q: q.eq("channel", cid)),
        "channel_creation": (
            "by_channel",
            lambda q: getattr(q.eq("channel", cid), lower)("_creationTime", pivot),
        ),
        "author": ("by_author_score", lambda q: q.eq("author", author)),
        "author_score_eq": (
            "by_author_score",
            lambda q: q.eq("author", author).eq("score", p["score"]),
        ),
        "author_score_gt": (
            "by_author_score",
            lambda q: getattr(q.eq("author", author), lower)("score", p["score"]),
        ),
        "author_score_lte": (
            "by_author_score",
            lambda q: getattr(q.eq("author", author), upper)("score", p["score"]),
        ),
        "author_range": ("by_author_score", lambda q: getattr(q, lower)("author", author)),
        "author_both": (
            "by_author_score",
            lambda q: getattr(getattr(q.eq("author", author), lower)("score", lo), upper)(
                "score", hi
            ),
        ),
        # a range over ids (`eq("_id").gt("_creationTime")` is a separate, failing test)
        "id_range": (
            "by_id",
            lambda q: getattr(q, lower)("_id", mids[p["pivot"] % len(mids)]) if mids else q,
        ),
    }[p["shape"]]


MESSAGE_FILTERS: dict[str | None, Any] = {
    None: None,
    "not_a": lambda q: q.neq(q.field("author"), "a"),
    "even": lambda q: q.eq(q.mod(q.field("score"), 2), 0),
}


def message_write(w: tuple[Any, ...], cids: list[str]) -> Callable[[], Callable[[Any], Any]]:
    def pick() -> Callable[[Any], Any]:
        live = [
            ids.encode_id("messages", pk)
            for pk in Message.objects.order_by("id").values_list("id", flat=True)
        ]
        target = live[w[1] % len(live)] if live and w[0] != "insert" else None
        kind = w[0]
        if kind == "insert":
            return lambda ctx: ctx.db.insert(
                "messages", {"channel": cids[w[1]], "author": w[2], "score": w[3], "body": "new"}
            )
        if kind == "delete_channel":
            cid = cids[w[1]]
            return lambda ctx: (
                ctx.db.delete("channels", cid) if ctx.db.get("channels", cid) else None
            )
        if target is None:
            return lambda ctx: None
        if kind == "patch":
            fields = {k: x for k, x in (("author", w[2]), ("score", w[3])) if x is not None}
            if w[4] is not None:
                fields["channel"] = cids[w[4]]
            return lambda ctx: ctx.db.patch("messages", target, fields)
        if kind == "replace":
            doc = {"channel": cids[0], "author": w[2], "score": w[3], "body": "replaced"}
            return lambda ctx: ctx.db.replace("messages", target, doc)
        return lambda ctx: ctx.db.delete("messages", target)

    return pick


@PROPERTY
@given(
    rows=st.lists(st.tuples(st.integers(0, 1), AUTHORS, SCORES), min_size=1, max_size=8),
    queries=st.lists(MESSAGE_QUERY, min_size=6, max_size=6),
    writes=st.lists(MESSAGE_WRITE, min_size=1, max_size=3),
)
def messages_property(rows: list[Any], queries: list[dict[str, Any]], writes: list[Any]) -> None:
    Message.objects.all().delete()
    Channel.objects.all().delete()
    cids = in_mutation(
        lambda ctx: [ctx.db.insert("channels", {"name": n}) for n in ("c0", "c1")]
    ).unwrap()
    mids = in_mutation(
        lambda ctx: [
            ctx.db.insert("messages", {"channel": cids[c], "author": a, "score": s, "body": "b"})
            for c, a, s in rows
        ]
    ).unwrap()
    cts = list(Message.objects.order_by("id").values_list("creation_time", flat=True))
    bodies = []
    for spec in queries:
        index, rng = message_range(spec, cids, cts, mids)
        make = build("messages", index, rng, spec["order"], MESSAGE_FILTERS[spec["filter"]])
        bodies.append(run_op(make, spec["op"]))
    run_along(bodies, [message_write(w, cids) for w in writes])


def test_property_messages(small_batches: None) -> None:
    """take/first/iteration/paginate (cursor, endCursor, maximumRowsRead), asc and desc, eq
    prefixes with range bounds, filters; inserts, patches that move rows in and out of ranges,
    replaces, deletes and cascades."""
    STATS.update(checked=0, changed=0)
    messages_property()
    assert STATS["changed"] > 50, STATS  # the writes did change results: the test has teeth


# --- property: NULL-able indexed columns of every type --------------------------------------

THING_INDEXES = [
    "by_name",
    "by_num",
    "by_real",
    "by_when",
    "by_uid",
    "by_name_num",
    "by_creation_time",
]


@st.composite
def thing_query(draw: Any, whole: bool = False) -> dict[str, Any]:
    """A query over one of the `snd` indexes; ``whole``: the whole index (NULLs included)."""
    index = draw(st.sampled_from(THING_INDEXES[:-1] if whole else THING_INDEXES))
    column = {"by_name_num": "name", "by_creation_time": None}.get(index, index.removeprefix("by_"))
    forms = ["none", "eq", "eq_null", "gt", "gte", "lt", "lte", "between"]
    form = draw(st.sampled_from(forms if column and not whole else ["none"]))
    value, value2 = (draw(VALUES[column]), draw(VALUES[column])) if column else (None, None)
    second = None
    if index == "by_name_num" and form in ("eq", "eq_null"):
        second = draw(st.sampled_from([None, "eq", "eq_null", "gt", "lte"]))
    return {
        "index": index,
        "column": column,
        "form": form,
        "value": value,
        "value2": value2,
        "second": second,
        "num": draw(VALUES["num"]),
        "order": draw(st.sampled_from(["asc", "desc"])),
        "op": draw(OPS),
    }


THING_WRITE = st.one_of(
    st.tuples(st.just("insert"), THING_ROW),
    st.tuples(
        st.just("patch"),
        st.integers(0, 9),
        st.sets(st.sampled_from(THING_COLUMNS), min_size=1).flatmap(
            lambda cols: st.fixed_dictionaries({c: nullable(c) for c in sorted(cols)})
        ),
    ),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.just(-1)),  # the newest row: often the last of a range
)


def thing_range(s: dict[str, Any]) -> Any:
    column, form, value, value2 = s["column"], s["form"], s["value"], s["value2"]
    lo, hi = sorted([value, value2], key=lambda x: key_of([x])) if column else (None, None)
    if isinstance(value, uuid.UUID):
        value, lo, hi = str(value), str(lo), str(hi)

    def rng(q: Any) -> Any:
        if form == "none":
            return q
        if form in ("eq", "eq_null"):
            q = q.eq(column, None if form == "eq_null" else value)
            second = s["second"]
            if second in ("eq", "eq_null"):
                q = q.eq("num", None if second == "eq_null" else s["num"])
            elif second in ("gt", "lte"):
                q = getattr(q, second)("num", s["num"])
            return q
        if form == "between":
            return q.gte(column, lo).lt(column, hi)
        return getattr(q, form)(column, value)

    return rng


def thing_write(w: tuple[Any, ...]) -> Callable[[], Callable[[Any], Any]]:
    def pick() -> Callable[[Any], Any]:
        if w[0] == "insert":
            return lambda ctx: ctx.db.insert("snd", thing_doc(w[1]))
        live = list(Thing.objects.order_by("id").values_list("id", flat=True))
        if not live:
            return lambda ctx: None
        target = ids.encode_id("snd", live[w[1] % len(live)])
        if w[0] == "patch":
            return lambda ctx: ctx.db.patch("snd", target, thing_doc(w[2]))
        return lambda ctx: ctx.db.delete("snd", target)

    return pick


@st.composite
def thing_rows(draw: Any) -> list[dict[str, Any]]:
    """Rows where some columns hold NULLs and others none (so cuts land on either)."""
    with_nulls = draw(st.sets(st.sampled_from(THING_COLUMNS)))
    row = st.fixed_dictionaries(
        {c: nullable(c) if c in with_nulls else VALUES[c] for c in THING_COLUMNS}
    )
    return draw(st.lists(row, min_size=1, max_size=7))


@PROPERTY
@given(
    rows=thing_rows(),
    queries=st.lists(thing_query(), min_size=6, max_size=6),
    writes=st.lists(THING_WRITE, min_size=1, max_size=3),
)
def things_property(
    rows: list[dict[str, Any]], queries: list[dict[str, Any]], writes: list[Any]
) -> None:
    Thing.objects.all().delete()
    in_mutation(lambda ctx: [ctx.db.insert("snd", thing_doc(r)) for r in rows]).unwrap()
    bodies = [
        run_op(build("snd", s["index"], thing_range(s), s["order"], None), s["op"]) for s in queries
    ]
    run_along(bodies, [thing_write(w) for w in writes])


def test_property_nullable_columns_of_every_type(things: None, small_batches: None) -> None:
    """NULLs (last ascending, first descending) in text, int, float (±inf, -0.0), datetime (with
    offsets) and uuid index columns, eq(None), range bounds, cuts and cursors on NULL keys, rows
    moving between NULL and a value."""
    STATS.update(checked=0, changed=0)
    things_property()
    assert STATS["changed"] > 50, STATS


def reference_ids(s: dict[str, Any]) -> list[str]:
    """What the query of spec ``s`` must return, computed in Python from all rows."""
    table = tables.get("snd")
    cols = table.indexes[s["index"]].key_columns
    column, form = s["column"], s["form"]

    def holds(value: Any, op: str, bound: Any) -> bool:
        if op in ("eq", "eq_null"):
            return value == (None if op == "eq_null" else bound)
        if value is None:  # SQL: NULL is neither greater nor smaller than anything
            return False
        return {
            "gt": value > bound,
            "gte": value >= bound,
            "lt": value < bound,
            "lte": value <= bound,
        }[op]

    lo, hi = sorted([s["value"], s["value2"]], key=lambda x: key_of([x])) if column else (0, 0)
    keep = []
    for row in Thing.objects.values():
        ok = True
        if form == "between":
            ok = holds(row[column], "gte", lo) and holds(row[column], "lt", hi)
        elif form != "none":
            ok = holds(row[column], form, s["value"])
            if ok and s["second"] is not None:
                ok = holds(row["num"], s["second"], s["num"])
        if ok:
            keep.append(row)
    keep.sort(key=lambda r: key_of([r[c] for c in cols]), reverse=s["order"] == "desc")
    return [ids.encode_id("snd", r["id"]) for r in keep]


@PROPERTY
@given(
    rows=thing_rows(),
    specs=st.tuples(thing_query(whole=True), thing_query()),
    size=st.integers(1, 3),
)
def walks_property(
    rows: list[dict[str, Any]], specs: tuple[dict[str, Any], ...], size: int
) -> None:
    Thing.objects.all().delete()
    in_mutation(lambda ctx: [ctx.db.insert("snd", thing_doc(r)) for r in rows]).unwrap()
    for spec in specs:
        walk(rows, spec, size)


def walk(rows: list[dict[str, Any]], spec: dict[str, Any], size: int) -> None:
    make = build("snd", spec["index"], thing_range(spec), spec["order"], None)
    want = reference_ids(spec)
    got = in_query(lambda ctx: [d["_id"] for d in make(ctx).collect()]).unwrap()
    assert got == want, "collect() order differs from Python's key order"
    got = in_query(lambda ctx: [d["_id"] for d in make(ctx)]).unwrap()
    assert got == want, "iteration across batches differs"
    walked, cursor, pages = [], None, []
    for _ in range(len(rows) + 2):
        opts = {"numItems": size, "cursor": cursor}
        page = in_query(lambda ctx, opts=opts: make(ctx).paginate(opts)).unwrap()
        walked += [d["_id"] for d in page["page"]]
        pages.append((cursor, page))
        cursor = page["continueCursor"]
        if page["isDone"]:
            break
    assert walked == want, "pages do not tile the range"
    for start, page in pages:  # each page again, bounded by its own end cursor: same rows
        opts = {"numItems": size, "cursor": start, "endCursor": page["continueCursor"]}
        again = in_query(lambda ctx, opts=opts: make(ctx).paginate(opts)).unwrap()
        assert [d["_id"] for d in again["page"]] == [d["_id"] for d in page["page"]]


def test_property_queries_agree_with_a_python_model(things: None, small_batches: None) -> None:
    """Ranges, NULL-aware keyset cursors (after_key/before_key) and ordering, against Python:
    collect, batched iteration, page walks, and each page re-read with its endCursor."""
    walks_property()


# --- from the suite committed in 1c58c49 (kept; its property now runs 40 examples) ---------

QUERY_SHAPES = st.fixed_dictionaries(
    {
        "order": st.sampled_from(["asc", "desc"]),
        "low": st.none() | st.integers(0, 40),
        "high": st.none() | st.integers(0, 40),
        "limit": st.none() | st.integers(1, 4),
    }
)


WRITES = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["insert", "patch", "delete"]),
        "target": st.integers(0, 5),
        "author": st.sampled_from(["ann", "bob"]),
        "score": st.integers(0, 40),
    }
)


@PROPERTY
@given(shape=QUERY_SHAPES, write=WRITES)
def test_random_ranges_and_writes(shape: dict[str, Any], write: dict[str, Any]) -> None:
    """Any range/order/limit over ann's scores, any single write: a change implies overlap."""
    tag = uuid.uuid4().hex[:8]  # rows accumulate across examples: each gets its own authors
    ann, bob = f"ann-{tag}", f"bob-{tag}"
    cid = make_channel(f"c-{tag}")
    mids = make_messages(cid, [(ann, 5), (ann, 15), (ann, 25), (bob, 20), (ann, 35), (bob, 10)])

    def query(ctx: Any) -> Any:
        def rng(q: Any) -> Any:
            q = q.eq("author", ann)
            if shape["low"] is not None:
                q = q.gte("score", shape["low"])
            if shape["high"] is not None:
                q = q.lt("score", shape["high"])
            return q

        qs = ctx.db.query("messages").with_index("by_author_score", rng).order(shape["order"])
        docs = qs.take(shape["limit"]) if shape["limit"] else qs.collect()
        return [(d["score"], d["_id"]) for d in docs]

    def apply(ctx: Any) -> None:
        author = ann if write["author"] == "ann" else bob
        if write["op"] == "insert":
            ctx.db.insert(
                "messages",
                {"channel": cid, "body": "new", "author": author, "score": write["score"]},
            )
        elif write["op"] == "patch":
            ctx.db.patch(
                "messages", mids[write["target"]], {"author": author, "score": write["score"]}
            )
        else:
            ctx.db.delete("messages", mids[write["target"]])

    check(query, apply, must_change=False)
