"""Shared by the read-set soundness tests (tests/integration/test_readset_soundness_*.py):
the property, its harness, the `snd` table and the query shapes.

Read-set soundness: a write that changes a query's result must overlap the query's read set.

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
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db import connection, models, transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from reactive import internal_query
from reactive.changelog import changes
from reactive.db import reader as reader_module
from reactive.db.tables import tables
from reactive.functions.executor import execute
from reactive.functions.outcome import CallOptions
from reactive.functions.registry import registry
from reactive.models import now_ms
from reactive.readset import DocWrite, ReadSet
from tests.helpers import in_mutation, in_query

# Bounded and reproducible; no shrinking (it takes minutes here): a failure prints the reads,
# the writes and both results, which is what one needs to see. SOUNDNESS_EXAMPLES=1000 digs deeper.
PROPERTY = settings(
    max_examples=int(os.environ.get("SOUNDNESS_EXAMPLES", "40")),
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


# --- the property ---------------------------------------------------------------------------


def result_of(outcome: Any) -> Any:
    """What a client would see: the encoded value, or the error."""
    if outcome.error is not None:  # (each run here has its own function path: drop it)
        return (
            "error",
            type(outcome.error).__name__,
            str(outcome.error).replace(outcome.path, "<path>"),
        )
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
        for name, writes in (
            ("Outcome.writes", list(written.outcome.writes)),
            ("captured writes", written.captured),
        ):
            assert reads.overlaps_any(writes), (
                f"MISSED INVALIDATION ({name})\n  reads:  {reads.reads}\n"
                f"  writes: {writes}\n  before: {result_of(before)}\n"
                f"  after:  {result_of(after)}"
            )
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
        f"  again: {result_of(again)}\n  journal: {first.journal}"
    )
    return first, first.journal


def check(
    query: Callable[[Any], Any], write: Callable[[Any], Any], *, must_change: bool = True
) -> None:
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


TEXTS = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=3
)


VALUES: dict[str, Any] = {
    "name": st.one_of(
        st.sampled_from(["", "a", "B", "b", "ab", "a b", "é", "z", "\U0001f600"]), TEXTS
    ),
    "num": st.integers(-3, 3) | st.sampled_from([-(2**31), 2**31 - 1]),
    "real": st.sampled_from([-math.inf, -1.5, -0.0, 0.0, 1e-300, 2.5, math.inf]),
    "when": st.sampled_from(
        [
            dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            dt.datetime(2024, 1, 1, tzinfo=UTC),
            dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
            dt.datetime(2024, 1, 1, 5, 0, tzinfo=PLUS_5),
            dt.datetime(2030, 6, 1, 12, tzinfo=UTC),
        ]
    ),
    "uid": st.sampled_from(
        [
            uuid.UUID(int=0),
            uuid.UUID(int=1),
            uuid.UUID(int=2**64),
            uuid.UUID(int=2**127),
            uuid.UUID(int=2**128 - 1),
            uuid.UUID("7f000000-0000-0000-0000-000000000000"),
        ]
    ),
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
    st.tuples(
        st.just("page"),
        st.integers(1, 3),  # numItems
        st.sampled_from([None, 1, 2]),  # cursor: after a first page of this size
        st.sampled_from([None, 1, 3]),  # endCursor: after a further page
        st.sampled_from([None, 1, 2]),
    ),  # maximumRowsRead
    st.tuples(st.just("page"), st.integers(1, 2), st.none(), st.none(), st.none()),
    st.tuples(
        st.just("page0"),
    ),  # numItems 0 from the start
)


def build(
    table: str,
    index: str | None,
    rng: Callable[[Any], Any] | None,
    order: str,
    filt: Callable[[Any], Any] | None,
) -> Callable[[Any], Any]:
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
        cursor = in_query(
            lambda ctx: make(ctx).paginate({"numItems": cursor_after, "cursor": None})
        ).unwrap()["continueCursor"]
    if end_after is not None:
        end = in_query(
            lambda ctx: make(ctx).paginate({"numItems": end_after, "cursor": cursor})
        ).unwrap()["continueCursor"]
    opts: dict[str, Any] = {"numItems": num, "cursor": cursor}
    if end is not None:
        opts["endCursor"] = end
    if max_rows is not None:
        opts["maximumRowsRead"] = max_rows
    return lambda ctx: make(ctx).paginate(opts)


STATS = {"checked": 0, "changed": 0}


def run_along(
    queries: list[Callable[[Any], Any]], writes: list[Callable[[], Callable[[Any], Any]]]
) -> None:
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


# --- the directed scenarios' data -----------------------------------------------------------


def make_channel(name: str = "general") -> str:
    return in_mutation(lambda ctx: ctx.db.insert("channels", {"name": name})).unwrap()


def make_messages(cid: str, rows: list[tuple[str, int]]) -> list[str]:
    return in_mutation(
        lambda ctx: [
            ctx.db.insert("messages", {"channel": cid, "body": f"b{i}", "author": a, "score": s})
            for i, (a, s) in enumerate(rows)
        ]
    ).unwrap()


def by_author(author: str, order: str = "asc") -> Any:
    return lambda ctx: (
        ctx.db.query("messages")
        .with_index("by_author_score", lambda q: q.eq("author", author))
        .order(order)
    )
