"""Read-set soundness: a write that changes a query's result must overlap the query's read set.

Every scenario runs a query through the real executor, keeps its ``Outcome.reads``, performs a
write through the real executor, re-runs the query and checks

    result changed  ==>  reads.overlaps_any(writes)

for both write sets: the mutation's ``Outcome.writes`` and the rows the change-capture triggers
logged for it (what the listener hands the subscription manager). Over-approximating is fine; a
miss means a subscriber keeps a stale result for good. A query that fails is a result too (the
client gets `QueryFailed` and must get the fix when the data changes).

Re-runs are made as the sync engine makes them: the first run is fresh, later ones pass the first
run's pagination journal (`CallOptions(journal=...)`, the page's end cursor), and a journaled re-run
on unchanged data must give the first result back.

Property tests (hypothesis, bounded and derandomized) generate data, query shapes and writes;
directed tests name single scenarios. Tests named ``test_bug_*`` document a bug each and fail until
it is fixed. A few executor tests check what reaches clients (a success must mean the writes
committed; a failed nested mutation must roll back its writes).

Besides the test app's tables, a table created here (`snd`) has NULL-able indexed columns of every
type the ordering question is about: text, int, float, datetime and uuid.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import threading
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db import connection, connections, models, transaction
from django.db.models import Q
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from reactive import ids, internal_mutation, internal_query, v
from reactive.db import reader as reader_module
from reactive.db.tables import tables
from reactive.functions.executor import execute
from reactive.functions.outcome import CallOptions
from reactive.functions.registry import registry
from reactive.models import now_ms
from reactive.readset import DocWrite, ReadSet, key_of
from reactive.sync import changes
from tests.helpers import in_mutation, in_query
from tests.testapp.models import Channel, Counter, Message

pytestmark = pytest.mark.django_db(transaction=True)

# Bounded and reproducible; no shrinking (it takes minutes here): a failure prints the reads,
# the writes and both results, which is what one needs to see. SOUNDNESS_EXAMPLES=1000 digs deeper.
PROPERTY = settings(max_examples=int(os.environ.get("SOUNDNESS_EXAMPLES", "40")),
                    deadline=None, database=None, derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow])


# --- the property ---------------------------------------------------------------------------

def result_of(outcome: Any) -> Any:
    """What a client would see: the encoded value, or the error."""
    if outcome.error is not None:  # (each run here has its own function path: drop it)
        return ("error", type(outcome.error).__name__,
                str(outcome.error).replace(outcome.path, "<path>"))
    return ("ok", outcome.encoded)


def reads_of(outcome: Any) -> ReadSet:
    """The read set the sync engine would subscribe with (none recorded = an empty set)."""
    return outcome.reads if outcome.reads is not None else ReadSet()


class Written:
    """A mutation's Outcome and the writes the change log captured for it (what the listener
    hands the subscription manager)."""

    def __init__(self, outcome: Any, captured: list[DocWrite]) -> None:
        self.outcome, self.captured = outcome, captured
        self.error = outcome.error

    def unwrap(self) -> Any:
        return self.outcome.unwrap()


def mutate(body: Callable[[Any], Any], **options: Any) -> Written:
    """Run ``body`` as a mutation; collect the change-log rows it committed."""
    snapshot = changes.current_snapshot("default")
    # a live test server prunes log rows every live listener has passed: be one until read
    changes.heartbeat("default", READER_ID, snapshot)
    try:
        outcome = in_mutation(body, **options)
        with transaction.atomic():
            captured = changes.read_changes("default", snapshot)
    finally:
        changes.forget("default", READER_ID)
    return Written(outcome, captured)


READER_ID = "00000000-0000-0000-0000-00000000beef"


def assert_sound(before: Any, written: Written, after: Any) -> bool:
    """The property for one (query, write, query) triple; returns whether the result changed.

    Both write sets must overlap: the executor's `Outcome.writes` and the captured change-log
    rows the sync engine actually uses."""
    changed = result_of(before) != result_of(after)
    if changed:
        reads = reads_of(before)
        for name, writes in (("Outcome.writes", list(written.outcome.writes)),
                             ("captured writes", written.captured)):
            assert reads.overlaps_any(writes), (
                f"MISSED INVALIDATION ({name})\n  reads:  {reads.reads}\n"
                f"  writes: {writes}\n  before: {result_of(before)}\n"
                f"  after:  {result_of(after)}")
    return changed


_paths = itertools.count()


def run_query(body: Callable[[Any], Any], journal: dict[str, Any] | None = None) -> Any:
    """Run ``body`` as a query through the executor, with a subscription's journal if given."""
    path = f"soundness:q{next(_paths)}"

    def handler(ctx: Any) -> Any:
        return body(ctx)

    internal_query(path=path)(handler)
    try:
        return execute(path, {}, options=CallOptions(journal=journal))
    finally:
        registry.unregister(path)


def subscribe(query: Callable[[Any], Any]) -> tuple[Any, dict[str, Any] | None]:
    """The first run of a subscription and the journal its re-runs get; a journaled re-run on the
    same data must agree with it (else the client sees a change, or an error, out of nothing)."""
    first = run_query(query)
    again = run_query(query, first.journal)
    assert result_of(again) == result_of(first), (
        f"a journaled re-run differs on unchanged data\n  first: {result_of(first)}\n"
        f"  again: {result_of(again)}\n  journal: {first.journal}")
    return first, first.journal


def check(query: Callable[[Any], Any], write: Callable[[Any], Any], *,
          must_change: bool = True) -> None:
    """Subscribe to ``query``, ``write``, re-run; the write is chosen to change the result."""
    before, journal = subscribe(query)
    written = mutate(write)
    written.unwrap()
    after = run_query(query, journal)
    if must_change:
        assert result_of(before) != result_of(after), "set-up: the write must change the result"
    assert_sound(before, written, after)


# --- a table with NULL-able indexed columns of each type ------------------------------------

_apps = Apps()


class Thing(models.Model):
    creation_time = models.FloatField(default=now_ms)
    name = models.CharField(max_length=40, null=True)
    num = models.IntegerField(null=True)
    real = models.FloatField(null=True)
    when = models.DateTimeField(null=True)
    uid = models.UUIDField(null=True)

    class Meta:
        apps = _apps
        app_label = "readset_soundness"
        db_table = "readset_soundness_thing"
        indexes = [
            models.Index(fields=["name"], name="snd_by_name"),
            models.Index(fields=["num"], name="snd_by_num"),
            models.Index(fields=["real"], name="snd_by_real"),
            models.Index(fields=["when"], name="snd_by_when"),
            models.Index(fields=["uid"], name="snd_by_uid"),
            models.Index(fields=["name", "num"], name="snd_by_name_num"),
        ]


THING_COLUMNS = ("name", "num", "real", "when", "uid")


@pytest.fixture
def things(transactional_db: None) -> Any:
    with connection.schema_editor() as editor:
        editor.create_model(Thing)
    tables.register(Thing, "snd")  # registers the change-capture trigger with pgtrigger
    for trigger in Thing._meta.triggers:
        trigger.install(Thing)  # a migration would; this table is made here
    try:
        yield
    finally:
        tables.unregister("snd")
        with connection.schema_editor() as editor:
            editor.delete_model(Thing)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Iteration fetches batches of 2 rows, so that early stops and batch seams are exercised."""
    monkeypatch.setattr(reader_module, "ITERATION_BATCH", 2)


UTC = dt.UTC
PLUS_5 = dt.timezone(dt.timedelta(hours=5))
TEXTS = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                max_size=3)
VALUES: dict[str, Any] = {
    "name": st.one_of(st.sampled_from(["", "a", "B", "b", "ab", "a b", "é", "z", "\U0001f600"]),
                      TEXTS),
    "num": st.integers(-3, 3) | st.sampled_from([-(2**31), 2**31 - 1]),
    "real": st.sampled_from([-math.inf, -1.5, -0.0, 0.0, 1e-300, 2.5, math.inf]),
    "when": st.sampled_from([dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                             dt.datetime(2024, 1, 1, tzinfo=UTC),
                             dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
                             dt.datetime(2024, 1, 1, 5, 0, tzinfo=PLUS_5),
                             dt.datetime(2030, 6, 1, 12, tzinfo=UTC)]),
    "uid": st.sampled_from([uuid.UUID(int=0), uuid.UUID(int=1), uuid.UUID(int=2**64),
                            uuid.UUID(int=2**127), uuid.UUID(int=2**128 - 1),
                            uuid.UUID("7f000000-0000-0000-0000-000000000000")]),
}


def nullable(column: str) -> st.SearchStrategy[Any]:
    return st.none() | VALUES[column] | VALUES[column]  # NULL about a third of the time


THING_ROW = st.fixed_dictionaries({c: nullable(c) for c in THING_COLUMNS})


def thing_doc(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in row.items()}


# --- query shapes ---------------------------------------------------------------------------

OPS = st.one_of(
    st.just(("collect",)),
    st.tuples(st.just("take"), st.integers(0, 4)),
    st.just(("first",)),
    st.tuples(st.just("iter"), st.integers(1, 5)),
    st.tuples(st.just("page"), st.integers(1, 3),  # numItems
              st.sampled_from([None, 1, 2]),        # cursor: after a first page of this size
              st.sampled_from([None, 1, 3]),        # endCursor: after a further page
              st.sampled_from([None, 1, 2])),       # maximumRowsRead
    st.tuples(st.just("page"), st.integers(1, 2), st.none(), st.none(), st.none()),
    st.tuples(st.just("page0"),),                   # numItems 0 from the start
)


def build(table: str, index: str | None, rng: Callable[[Any], Any] | None, order: str,
          filt: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def make(ctx: Any) -> Any:
        q = ctx.db.query(table)
        if index is not None:
            q = q.with_index(index, rng)
        q = q.order(order)
        if filt is not None:
            q = q.filter(filt)
        return q
    return make


def run_op(make: Callable[[Any], Any], op: tuple[Any, ...]) -> Callable[[Any], Any]:
    """The query body for ``op``; pagination cursors are computed now, as a client holds them."""
    kind = op[0]
    if kind == "collect":
        return lambda ctx: make(ctx).collect()
    if kind == "take":
        return lambda ctx: make(ctx).take(op[1])
    if kind == "first":
        return lambda ctx: make(ctx).first()
    if kind == "iter":
        def iterate(ctx: Any) -> Any:
            out = []
            for doc in make(ctx):
                out.append(doc)
                if len(out) >= op[1]:
                    break  # stop early, maybe mid-batch
            return out
        return iterate
    if kind == "page0":
        return lambda ctx: make(ctx).paginate({"numItems": 0, "cursor": None})
    _, num, cursor_after, end_after, max_rows = op
    cursor = end = None
    if cursor_after is not None:
        cursor = in_query(lambda ctx: make(ctx).paginate(
            {"numItems": cursor_after, "cursor": None})).unwrap()["continueCursor"]
    if end_after is not None:
        end = in_query(lambda ctx: make(ctx).paginate(
            {"numItems": end_after, "cursor": cursor})).unwrap()["continueCursor"]
    opts: dict[str, Any] = {"numItems": num, "cursor": cursor}
    if end is not None:
        opts["endCursor"] = end
    if max_rows is not None:
        opts["maximumRowsRead"] = max_rows
    return lambda ctx: make(ctx).paginate(opts)


STATS = {"checked": 0, "changed": 0}


def run_along(queries: list[Callable[[Any], Any]],
              writes: list[Callable[[], Callable[[Any], Any]]]) -> None:
    """Subscribe to every query; after each write, check the property against the result and
    read set the engine holds, which it replaces only when the captured writes overlap them.

    A write is a thunk that picks its target from the rows alive at that moment."""
    subscribed = [subscribe(q) for q in queries]
    held = [first for first, _ in subscribed]
    journals = [journal for _, journal in subscribed]
    for next_write in writes:
        written = mutate(next_write())
        if written.error is not None:  # nothing was written
            continue
        for i, (query, journal) in enumerate(zip(queries, journals, strict=True)):
            now = run_query(query, journal)
            STATS["checked"] += 1
            STATS["changed"] += assert_sound(held[i], written, now)
            if reads_of(held[i]).overlaps_any(written.captured):
                held[i] = now  # the engine re-runs it; otherwise it keeps what it had


# --- property: the test app's messages (text, int, FK, float creation time) -----------------

AUTHORS = st.sampled_from(["a", "b", "B", "é", "ab"])
SCORES = st.integers(-1, 2)
MESSAGE_SHAPES = ["default", "creation_gt", "creation_lt", "channel", "channel_creation",
                  "author", "author_score_eq", "author_score_gt", "author_score_lte",
                  "author_range", "author_both", "id_range"]
MESSAGE_QUERY = st.fixed_dictionaries({
    "shape": st.sampled_from(MESSAGE_SHAPES), "order": st.sampled_from(["asc", "desc"]),
    "op": OPS, "filter": st.sampled_from([None, None, "not_a", "even"]),
    "author": AUTHORS, "score": SCORES, "score2": SCORES, "channel": st.integers(0, 1),
    "pivot": st.integers(0, 8), "incl": st.booleans(),
})
MESSAGE_WRITE = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 1), AUTHORS, SCORES),
    st.tuples(st.just("patch"), st.integers(0, 9), st.none() | AUTHORS, st.none() | SCORES,
              st.none() | st.integers(0, 1)),
    st.tuples(st.just("replace"), st.integers(0, 9), AUTHORS, SCORES),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.just(-1)),  # the newest row: often the last of a range
    st.tuples(st.just("delete_channel"), st.integers(0, 1)),
)


def message_range(p: dict[str, Any], cids: list[str], cts: list[float], mids: list[str]
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
        "channel_creation": ("by_channel", lambda q: getattr(q.eq("channel", cid), lower)(
            "_creationTime", pivot)),
        "author": ("by_author_score", lambda q: q.eq("author", author)),
        "author_score_eq": ("by_author_score",
                            lambda q: q.eq("author", author).eq("score", p["score"])),
        "author_score_gt": ("by_author_score", lambda q: getattr(
            q.eq("author", author), lower)("score", p["score"])),
        "author_score_lte": ("by_author_score", lambda q: getattr(
            q.eq("author", author), upper)("score", p["score"])),
        "author_range": ("by_author_score", lambda q: getattr(q, lower)("author", author)),
        "author_both": ("by_author_score", lambda q: getattr(getattr(
            q.eq("author", author), lower)("score", lo), upper)("score", hi)),
        # a range over ids (`eq("_id").gt("_creationTime")` is a separate, failing test)
        "id_range": ("by_id", lambda q: getattr(q, lower)(
            "_id", mids[p["pivot"] % len(mids)]) if mids else q),
    }[p["shape"]]


MESSAGE_FILTERS: dict[str | None, Any] = {
    None: None,
    "not_a": lambda q: q.neq(q.field("author"), "a"),
    "even": lambda q: q.eq(q.mod(q.field("score"), 2), 0),
}


def message_write(w: tuple[Any, ...], cids: list[str]) -> Callable[[], Callable[[Any], Any]]:
    def pick() -> Callable[[Any], Any]:
        live = [ids.encode_id("messages", pk)
                for pk in Message.objects.order_by("id").values_list("id", flat=True)]
        target = live[w[1] % len(live)] if live and w[0] != "insert" else None
        kind = w[0]
        if kind == "insert":
            return lambda ctx: ctx.db.insert("messages", {
                "channel": cids[w[1]], "author": w[2], "score": w[3], "body": "new"})
        if kind == "delete_channel":
            cid = cids[w[1]]
            return lambda ctx: ctx.db.delete("channels", cid) if ctx.db.get(
                "channels", cid) else None
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
@given(rows=st.lists(st.tuples(st.integers(0, 1), AUTHORS, SCORES), min_size=1, max_size=8),
       queries=st.lists(MESSAGE_QUERY, min_size=6, max_size=6),
       writes=st.lists(MESSAGE_WRITE, min_size=1, max_size=3))
def messages_property(rows: list[Any], queries: list[dict[str, Any]], writes: list[Any]
                      ) -> None:
    Message.objects.all().delete()
    Channel.objects.all().delete()
    cids = in_mutation(lambda ctx: [ctx.db.insert("channels", {"name": n})
                                    for n in ("c0", "c1")]).unwrap()
    mids = in_mutation(lambda ctx: [
        ctx.db.insert("messages", {"channel": cids[c], "author": a, "score": s, "body": "b"})
        for c, a, s in rows]).unwrap()
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

THING_INDEXES = ["by_name", "by_num", "by_real", "by_when", "by_uid", "by_name_num",
                 "by_creation_time"]


@st.composite
def thing_query(draw: Any, whole: bool = False) -> dict[str, Any]:
    """A query over one of the `snd` indexes; ``whole``: the whole index (NULLs included)."""
    index = draw(st.sampled_from(THING_INDEXES[:-1] if whole else THING_INDEXES))
    column = {"by_name_num": "name", "by_creation_time": None}.get(
        index, index.removeprefix("by_"))
    forms = ["none", "eq", "eq_null", "gt", "gte", "lt", "lte", "between"]
    form = draw(st.sampled_from(forms if column and not whole else ["none"]))
    value, value2 = (draw(VALUES[column]), draw(VALUES[column])) if column else (None, None)
    second = None
    if index == "by_name_num" and form in ("eq", "eq_null"):
        second = draw(st.sampled_from([None, "eq", "eq_null", "gt", "lte"]))
    return {"index": index, "column": column, "form": form, "value": value, "value2": value2,
            "second": second, "num": draw(VALUES["num"]),
            "order": draw(st.sampled_from(["asc", "desc"])), "op": draw(OPS)}


THING_WRITE = st.one_of(
    st.tuples(st.just("insert"), THING_ROW),
    st.tuples(st.just("patch"), st.integers(0, 9),
              st.sets(st.sampled_from(THING_COLUMNS), min_size=1).flatmap(
                  lambda cols: st.fixed_dictionaries({c: nullable(c) for c in sorted(cols)}))),
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
    row = st.fixed_dictionaries({c: nullable(c) if c in with_nulls else VALUES[c]
                                 for c in THING_COLUMNS})
    return draw(st.lists(row, min_size=1, max_size=7))


@PROPERTY
@given(rows=thing_rows(),
       queries=st.lists(thing_query(), min_size=6, max_size=6),
       writes=st.lists(THING_WRITE, min_size=1, max_size=3))
def things_property(rows: list[dict[str, Any]], queries: list[dict[str, Any]],
                    writes: list[Any]) -> None:
    Thing.objects.all().delete()
    in_mutation(lambda ctx: [ctx.db.insert("snd", thing_doc(r)) for r in rows]).unwrap()
    bodies = [run_op(build("snd", s["index"], thing_range(s), s["order"], None), s["op"])
              for s in queries]
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
        return {"gt": value > bound, "gte": value >= bound, "lt": value < bound,
                "lte": value <= bound}[op]

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
@given(rows=thing_rows(), specs=st.tuples(thing_query(whole=True), thing_query()),
       size=st.integers(1, 3))
def walks_property(rows: list[dict[str, Any]], specs: tuple[dict[str, Any], ...], size: int
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


def test_property_queries_agree_with_a_python_model(things: None, small_batches: None
                                                    ) -> None:
    """Ranges, NULL-aware keyset cursors (after_key/before_key) and ordering, against Python:
    collect, batched iteration, page walks, and each page re-read with its endCursor."""
    walks_property()


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(THING_ROW, min_size=2, max_size=12))
def test_sql_order_agrees_with_python_key_order(things: None, rows: list[dict[str, Any]]
                                                ) -> None:
    """The read-set intervals compare keys in Python; Postgres must order rows the same way."""
    Thing.objects.all().delete()
    in_mutation(lambda ctx: [ctx.db.insert("snd", thing_doc(r)) for r in rows]).unwrap()
    table = tables.get("snd")
    for index in table.indexes.values():
        cols = index.key_columns
        keys = [key_of(k) for k in Thing.objects.order_by(*cols).values_list(*cols)]
        assert keys == sorted(keys), f"{index.name}: SQL order differs from Python's"
        desc = [key_of(k) for k in Thing.objects.order_by(*(f"-{c}" for c in cols))
                .values_list(*cols)]
        assert desc == sorted(keys, reverse=True), f"{index.name} desc"


def test_database_collation_is_code_point_order():
    """Recorded for the report: the embedded server's collation (C.UTF-8 here)."""
    with connection.cursor() as cur:
        cur.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        (collation,) = cur.fetchone()
        cur.execute("SELECT array_agg(s ORDER BY s) FROM unnest(%s::text[]) s",
                    [["b", "B", "a", "é", "e", "z", "\U0001f600", "ab", "a b", "A", ""]])
        (ordered,) = cur.fetchone()
    assert collation in ("C", "C.UTF-8", "C.utf8", "POSIX"), collation
    assert ordered == sorted(ordered)


# --- directed scenarios that hold -----------------------------------------------------------

def make_channel(name: str = "general") -> str:
    return in_mutation(lambda ctx: ctx.db.insert("channels", {"name": name})).unwrap()


def make_messages(cid: str, rows: list[tuple[str, int]]) -> list[str]:
    return in_mutation(lambda ctx: [
        ctx.db.insert("messages", {"channel": cid, "body": f"b{i}", "author": a, "score": s})
        for i, (a, s) in enumerate(rows)]).unwrap()


def by_author(author: str, order: str = "asc") -> Any:
    return lambda ctx: ctx.db.query("messages").with_index(
        "by_author_score", lambda q: q.eq("author", author)).order(order)


def test_desc_take_cut_sees_insert_above_and_move_into_range():
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 5), ("ann", 9)])
    q = lambda ctx: by_author("ann", "desc")(ctx).take(2)  # noqa: E731
    check(q, lambda ctx: ctx.db.insert("messages", {"channel": cid, "body": "x",
                                                    "author": "ann", "score": 7}))
    check(q, lambda ctx: ctx.db.patch("messages", mids[0], {"score": 100}))  # moves in
    check(q, lambda ctx: ctx.db.patch("messages", mids[2], {"author": "bob"}))  # moves out


def test_unique_reads_two_rows_and_sees_the_second_arrive():
    cid = make_channel()
    make_messages(cid, [("ann", 1)])
    check(lambda ctx: by_author("ann")(ctx).unique(),
          lambda ctx: ctx.db.insert("messages", {"channel": cid, "body": "x", "author": "ann",
                                                 "score": 2}))


def test_get_of_a_missing_id_and_a_deleted_row():
    cid = make_channel()
    (mid,) = make_messages(cid, [("ann", 1)])
    check(lambda ctx: ctx.db.get("messages", mid),
          lambda ctx: ctx.db.delete("messages", mid))
    out = run_query(lambda ctx: ctx.db.get("messages", mid))
    assert out.unwrap() is None and len(reads_of(out)) == 1


def test_cascade_delete_reaches_queries_on_the_child_table():
    cid = make_channel()
    make_messages(cid, [("ann", 1), ("bob", 2)])
    check(lambda ctx: by_author("bob")(ctx).collect(),
          lambda ctx: ctx.db.delete("channels", cid))


def test_desc_paginate_with_cursor_and_end_cursor():
    cid = make_channel()
    mids = make_messages(cid, [("ann", s) for s in range(6)])
    q = by_author("ann", "desc")
    p1 = in_query(lambda ctx: q(ctx).paginate({"numItems": 2, "cursor": None})).unwrap()
    p2 = in_query(lambda ctx: q(ctx).paginate(
        {"numItems": 2, "cursor": p1["continueCursor"]})).unwrap()
    page = lambda ctx: q(ctx).paginate(  # noqa: E731
        {"numItems": 2, "cursor": p1["continueCursor"], "endCursor": p2["continueCursor"]})
    check(page, lambda ctx: ctx.db.insert("messages", {"channel": cid, "body": "x",
                                                       "author": "ann", "score": 3}))
    check(page, lambda ctx: ctx.db.delete("messages", mids[2]))


def test_by_id_refuses_a_creation_time_bound():
    """Found at 688872f: `by_id` accepted `.gt("_creationTime")` after `eq("_id")` though its key
    is `(id,)`, so the recorded range held no key at all. Fixed in 488fbcd: refused, as in Convex.
    """
    from reactive.errors import QueryError

    cid = make_channel()
    (mid,) = make_messages(cid, [("ann", 1)])
    with pytest.raises(QueryError, match="out of order"):
        run_query(lambda ctx: ctx.db.query("messages").with_index(
            "by_id", lambda q: q.eq("_id", mid).gt("_creationTime", 0)).collect()).unwrap()


def test_paginate_zero_items_after_a_cursor():
    """Found at 688872f (the range recorded was empty, yet isDone depends on the next row);
    fixed in 488fbcd. (With the journal the page is also pinned: it need not change.)"""
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 2), ("ann", 3)])
    q = lambda ctx: ctx.db.query("messages").with_index(  # noqa: E731
        "by_channel", lambda q: q.eq("channel", cid))
    first = in_query(lambda ctx: q(ctx).paginate({"numItems": 1, "cursor": None})).unwrap()

    def delete_rest(ctx: Any) -> None:
        for m in mids[1:]:
            ctx.db.delete("messages", m)

    check(lambda ctx: q(ctx).paginate({"numItems": 0, "cursor": first["continueCursor"]}),
          delete_rest, must_change=False)


def test_failed_query_keeps_its_read_set():
    """Found at 688872f (`Outcome.reads` was None on error); fixed in 488fbcd."""
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 1)])
    check(lambda ctx: ctx.db.query("messages").with_index(
              "by_author_score", lambda q: q.eq("author", "ann").eq("score", 1)).unique(),
          lambda ctx: ctx.db.delete("messages", mids[0]))


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
    check(lambda ctx: ctx.db.query("messages").filter(Q(channel__name="general")).collect(),
          lambda ctx: ctx.db.patch("channels", cid, {"name": "renamed"}))


def test_first_page_is_pinned_by_its_journal():
    """A fresh page peeks one row past its end to set `isDone`, and records the range only up to
    its last row; the journal (endCursor = that row) makes re-runs independent of the peek."""
    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 2)])
    query = lambda ctx: by_author("ann")(ctx).paginate(  # noqa: E731
        {"numItems": 1, "cursor": None})
    check(query, lambda ctx: ctx.db.delete("messages", mids[1]), must_change=False)


# --- from the suite committed in 1c58c49 (kept; its property now runs 40 examples) ---------

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
    check(lambda ctx: [d["score"] for d in by_author("ann", order)(ctx).take(2)],
          lambda ctx: ctx.db.delete("messages", victim))


def test_rows_beyond_a_take_cut_are_not_read():
    cid = make_channel()
    make_messages(cid, [("ann", 10), ("ann", 20), ("ann", 30)])
    before = run_query(lambda ctx: by_author("ann")(ctx).take(2))
    written = mutate(lambda ctx: ctx.db.insert("messages", {
        "channel": cid, "body": "late", "author": "ann", "score": 99}))
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
            ctx.db.insert("messages", {"channel": cid, "body": "new", "author": author,
                                       "score": write["score"]})
        elif write["op"] == "patch":
            ctx.db.patch("messages", mids[write["target"]],
                         {"author": author, "score": write["score"]})
        else:
            ctx.db.delete("messages", mids[write["target"]])

    check(query, apply, must_change=False)


# --- directed scenarios: bugs (each fails today) --------------------------------------------

def test_bug_query_over_the_read_limit_records_no_range():
    """`_run` records its range only after `_fetch` returns; when the documents-read limit stops
    the fetch (LimitExceeded), the failed query's read set lacks the range it scanned, so the
    error never goes away once rows are deleted and the query would fit again."""
    from django.test import override_settings

    cid = make_channel()
    mids = make_messages(cid, [("ann", 1), ("ann", 2), ("ann", 3)])
    with override_settings(REACTIVE={"LIMITS": {"documents_read": 2}}):
        check(lambda ctx: by_author("ann")(ctx).collect(),
              lambda ctx: ctx.db.delete("messages", mids[0]))


def test_bug_journaled_page_capped_by_maximum_rows_read_depends_on_the_peeked_row():
    """With an endCursor (every journaled re-run has one) and maximumRowsRead, `_page` fetches
    maximumRowsRead + 1 rows; when capped it records the range only up to the last row returned,
    but whether it is capped (and so `continueCursor`) depends on the row after it.

    A subscriber's first page [A, B] (maximumRowsRead 2) is pinned at B. X is inserted between
    them: the re-run is capped, [A, X], continueCursor X, read set up to X. Deleting B (outside
    that read set) uncaps it: [A, X], continueCursor B. Nobody re-runs it."""
    cid = make_channel()
    a, b = make_messages(cid, [("ann", 1), ("ann", 3)])
    query = lambda ctx: by_author("ann")(ctx).paginate(  # noqa: E731
        {"numItems": 2, "cursor": None, "maximumRowsRead": 2})
    first, journal = subscribe(query)
    in_mutation(lambda ctx: ctx.db.insert("messages", {"channel": cid, "body": "x",
                                                       "author": "ann", "score": 2})).unwrap()
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
        check(lambda ctx: ctx.run_query("soundness:pager", {}),
              lambda ctx: ctx.db.delete("messages", mids[1]))
    finally:
        registry.unregister("soundness:pager")


def test_bug_journal_of_an_empty_first_page_breaks_every_re_run():
    """`paginate({numItems: 0, cursor: null})` answers continueCursor = the START cursor; the
    journal keeps it as endCursor, and `_page` refuses START as an endCursor: the subscription's
    first re-run (after any write to the table) turns into "InvalidCursor"."""
    cid = make_channel()
    make_messages(cid, [("ann", 1)])
    subscribe(lambda ctx: by_author("ann")(ctx).paginate({"numItems": 0, "cursor": None}))


def test_bug_django_q_filter_with_a_subquery_reads_another_table():
    """`_record_joins` looks at the joins of the outer query only; a subquery (`__in=` a
    queryset, `Exists`) reads `channels` without any join, and no read of it is recorded."""
    cid = make_channel("general")
    make_messages(cid, [("ann", 1)])
    check(lambda ctx: ctx.db.query("messages").filter(
              Q(channel__in=Channel.objects.filter(name="general"))).collect(),
          lambda ctx: ctx.db.patch("channels", cid, {"name": "renamed"}))


def test_bug_django_q_filter_with_exists_reads_another_table():
    from django.db.models import Exists, OuterRef

    cid = make_channel("general")
    make_messages(cid, [("ann", 1)])
    general = Exists(Channel.objects.filter(pk=OuterRef("channel_id"), name="general"))
    check(lambda ctx: ctx.db.query("messages").filter(Q(general)).collect(),
          lambda ctx: ctx.db.patch("channels", cid, {"name": "renamed"}))


def test_bug_nan_in_an_indexed_float_column(things: None):
    """Postgres sorts NaN above every number; Python says NaN is neither < nor > anything, so
    order_key puts a NaN key outside every range. A row patched to NaN enters `gte(1.0)` in SQL
    but not in the read set."""
    in_mutation(lambda ctx: [ctx.db.insert("snd", {"real": r}) for r in (0.0, 2.0)]).unwrap()
    nid = run_query(lambda ctx: ctx.db.query("snd").with_index(
        "by_real", lambda q: q.eq("real", 0.0)).first()["_id"]).unwrap()
    check(lambda ctx: ctx.db.query("snd").with_index(
              "by_real", lambda q: q.gte("real", 1.0)).collect(),
          lambda ctx: ctx.db.patch("snd", nid, {"real": math.nan}))


def test_bug_nan_orders_differently_in_sql_and_python(things: None):
    in_mutation(lambda ctx: [ctx.db.insert("snd", {"real": r}) for r in (math.nan, 1.0, 2.0)]
                ).unwrap()
    cols = tables.get("snd").indexes["by_real"].key_columns
    keys = [key_of(k) for k in Thing.objects.order_by(*cols).values_list(*cols)]
    assert all(a < b for a, b in zip(keys, keys[1:], strict=False)), keys


def test_bug_naive_datetime_bound_cannot_be_compared_with_any_key(things: None):
    """Convex values have no date type: JSON clients send date-times as strings, often without
    an offset. `gt("when", "2025-01-01T00:00:00")` becomes a naive datetime in the read set's
    Bound (Django makes it UTC only in the SQL); every key it meets, from the change log or from
    `Outcome.writes`, is aware, and `ReadSet.overlaps` raises TypeError (in the listener's tick).
    """
    with warnings.catch_warnings():  # Django only warns (the suite turns warnings into errors)
        warnings.simplefilter("ignore", RuntimeWarning)
        check(lambda ctx: ctx.db.query("snd").with_index(
                  "by_when", lambda q: q.gt("when", "2025-01-01T00:00:00")).collect(),
              lambda ctx: ctx.db.insert("snd", {"when": dt.datetime(2030, 1, 1, tzinfo=UTC)}))


def test_bug_naive_datetime_write_leaves_a_naive_key_in_outcome_writes(things: None):
    """The same on the write side: a naive value is stored as UTC, but `Outcome.writes` keeps
    the naive Python value (the change log has the stored, aware one)."""
    tid = in_mutation(lambda ctx: ctx.db.insert("snd", {"when": dt.datetime(
        2024, 1, 1, tzinfo=UTC)})).unwrap()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check(lambda ctx: ctx.db.query("snd").with_index(
                  "by_when", lambda q: q.gt("when", dt.datetime(2025, 1, 1, tzinfo=UTC))
              ).collect(),
              lambda ctx: ctx.db.patch("snd", tid, {"when": "2030-01-01T00:00:00"}))


def test_bug_filter_neq_with_the_field_on_the_right():
    """`q.neq(value, field)` must equal `q.neq(field, value)`; Convex says null != x is true.
    `neq` adds `OR field IS NULL` using its *first* operand, so with the field second it adds
    `value IS NULL` instead: `neq(2.5, rating)` drops rows whose rating is null, and
    `neq(None, rating)` (`NULL IS NULL`) keeps every row."""
    cid = make_channel()
    in_mutation(lambda ctx: [ctx.db.insert("messages", {
        "channel": cid, "body": f"r{r}", "author": "a", "rating": r}) for r in (None, 1.0, 2.5)]
                ).unwrap()

    def bodies(pred: Any) -> list[str]:
        return sorted(d["body"] for d in in_query(
            lambda ctx: ctx.db.query("messages").filter(pred).collect()).unwrap())

    assert bodies(lambda q: q.neq(q.field("rating"), 2.5)) == ["r1.0", "rNone"]
    assert bodies(lambda q: q.neq(2.5, q.field("rating"))) == ["r1.0", "rNone"]
    assert bodies(lambda q: q.neq(None, q.field("rating"))) == ["r1.0", "r2.5"]


def test_change_log_captures_what_outcome_writes_says(things: None):
    """The harness: both write sets are checked, so both must be there."""
    cid = make_channel()
    written = mutate(lambda ctx: [ctx.db.insert("messages", {
        "channel": cid, "body": "x", "author": "a"}), ctx.db.insert("snd", {"num": 1})])
    written.unwrap()
    tables_written = sorted(w.table for w in written.captured)
    assert tables_written == sorted(w.table for w in written.outcome.writes) == [
        "messages", "snd"]
    for captured, reported in zip(sorted(written.captured, key=lambda w: w.table),
                                  sorted(written.outcome.writes, key=lambda w: w.table),
                                  strict=True):
        assert captured.new == reported.new and captured.op == reported.op == "insert"


# --- write validation (documents.py) -------------------------------------------------------

def test_bug_objects_and_arrays_are_stringified_into_text_fields():
    """`column_value` trusts `field.to_python`, and CharField/TextField.to_python is `str(x)`: an
    object or an array written to a text field is stored as its Python repr instead of being
    refused (DESIGN: bad input is a clear client error naming the table and field)."""
    from reactive.errors import DocumentValidationError

    cid = make_channel()
    for bad in ({"author": {"x": 1}, "body": "b"}, {"author": "a", "body": ["x", 1]}):
        out = in_mutation(lambda ctx, bad=bad: ctx.db.insert(
            "messages", {"channel": cid, **bad}))
        assert isinstance(out.error, DocumentValidationError), (bad, out.error, out.value)


def test_bug_a_number_for_a_datetime_field_is_an_internal_error(things: None):
    """DateTimeField.to_python(5) raises TypeError (not ValidationError), which `_to_python` does
    not catch: the client gets "Server Error" instead of a validation error naming the field."""
    from reactive.errors import DocumentValidationError

    out = in_mutation(lambda ctx: ctx.db.insert("snd", {"when": 5}))
    assert isinstance(out.error, DocumentValidationError), out.error


# --- what reaches clients: executor and transactions ----------------------------------------

def test_bug_nested_mutation_failing_return_validation_keeps_its_writes():
    """`_run_nested` releases the savepoint before validating the return value, so a nested
    mutation that fails (ReturnsValidationError) still commits its writes with the parent."""

    @internal_mutation(path="soundness:child", returns=v.string())
    def child(ctx: Any) -> Any:
        ctx.db.insert("channels", {"name": "from-child"})
        return 5  # not a string

    def parent(ctx: Any) -> str:
        try:
            ctx.run_mutation("soundness:child", {})
        except Exception as exc:  # the caller sees the nested call fail
            return type(exc).__name__
        return "no error"

    try:
        out = in_mutation(parent)
    finally:
        registry.unregister("soundness:child")
    assert out.unwrap() == "ReturnValidationError"
    assert not Channel.objects.filter(name="from-child").exists()
    assert not any(w.table == "channels" for w in out.writes)


def test_bug_caught_database_error_reports_success_but_commits_nothing():
    """A database error caught by user code leaves the transaction aborted; COMMIT then rolls
    back silently, yet the Outcome says success and lists the writes (a client would be told
    its mutation committed, and the sync engine would be handed writes that never happened)."""
    cid = make_channel()
    make_messages(cid, [("ann", 1)])

    def body(ctx: Any) -> str:
        ctx.db.insert("channels", {"name": "kept"})
        try:  # score / 0 fails in Postgres: division by zero
            ctx.db.query("messages").filter(
                lambda q: q.eq(q.div(q.field("score"), 0), 1)).collect()
        except Exception:
            return "handled"
        return "no error"

    out = in_mutation(body)
    committed = Channel.objects.filter(name="kept").exists()
    assert out.error is not None or committed, (
        f"Outcome ok ({out.value!r}, writes {[w.op for w in out.writes]}) but nothing committed")


def test_bug_swallowed_serialization_failure_is_neither_retried_nor_reported():
    """docs/architecture.md §6 says a retryable error inside user code cannot be swallowed by
    `except Exception`; it is converted only when it leaves the handler. Caught inside, the
    transaction is aborted, COMMIT silently rolls back and the Outcome reports success."""
    Counter.objects.create(name="hot", value=0)
    have_read, go = threading.Event(), threading.Event()
    attempts: list[int] = []

    @internal_mutation(path="soundness:careful")
    def careful(ctx: Any) -> str:
        attempts.append(1)
        row = ctx.db.query("counters").filter(lambda q: q.eq(q.field("name"), "hot")).unique()
        if len(attempts) == 1:
            have_read.set()
            go.wait(5)
        ctx.db.insert("channels", {"name": "careful"})
        try:
            ctx.db.patch("counters", row["_id"], {"value": row["value"] + 1})
        except Exception:  # user code being careful with a write that may fail
            return "patch failed"
        return "ok"

    def other() -> None:
        try:
            have_read.wait(5)
            Counter.objects.filter(name="hot").update(value=10)  # commits (autocommit)
        finally:
            go.set()
            connections.close_all()

    try:
        with ThreadPoolExecutor(2) as pool:
            def run() -> Any:
                try:
                    from reactive.functions.executor import execute
                    return execute("soundness:careful", {})
                finally:
                    connections.close_all()
            fut = pool.submit(run)
            pool.submit(other).result()
            out = fut.result()
    finally:
        registry.unregister("soundness:careful")
    committed = Channel.objects.filter(name="careful").exists()
    assert out.error is not None or committed, (
        f"Outcome ok ({out.value!r}, attempts {out.attempts}) but its insert did not commit")

