"""The public reader/writer interface (reactive.db.interface): a wrapper of ctx.db, installed in a
real query and mutation, sees every document read and every write, and can hide documents.

Two wrappers, one per way of writing one: `Watch` delegates to the ctx.db it wraps (as
convex-helpers' wrapDatabaseReader does, and as a custom function would install it on a derived
ctx); `WatchingReader` / `WatchingWriter` subclass the reader and writer. Neither uses a name of
reactive's that starts with an underscore. Both log (how, id) for every document that leaves the
reader, and hide the messages whose body is HIDDEN.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from reactive import internal
from reactive.conf import reactive_settings
from reactive.db.interface import DocumentReader, DocumentWriter, QueryRunner, TableView
from reactive.db.reader import DatabaseReader
from reactive.db.writer import DatabaseWriter
from reactive.errors import ConvexError
from reactive.limits import Budget
from reactive.readset import ReadSet, WriteSet
from tests.helpers import in_mutation, in_query
from tests.scheduler_support import TABLE

pytestmark = pytest.mark.django_db(transaction=True)

HIDDEN = "hidden"
BUMP = internal.testapp.scheduling.bump
FIRST_PAGE = {"numItems": 10, "cursor": None}
_ID_ONLY: Any = object()


class Watch:
    """A delegating wrapper of ``ctx.db`` (a DocumentReader, or a DocumentWriter in a mutation)."""

    def __init__(self, inner: Any, log: list[tuple[str, Any]], *, hide: bool = True) -> None:
        self.inner, self.log, self.hide = inner, log, hide

    def _visible(self, how: str, doc: dict[str, Any]) -> bool:
        self.log.append((how, doc["_id"]))
        return not (self.hide and doc.get("body") == HIDDEN)

    # -- reads -----------------------------------------------------------------------------
    def get(self, table_or_id: str, id: str | None = None) -> dict[str, Any] | None:
        doc = self.inner.get(table_or_id, id)
        return doc if doc is None or self._visible("get", doc) else None

    def query(self, table: str) -> Any:
        return dataclasses.replace(self.inner.query(table), reader=self)

    def normalize_id(self, table: str, id: str) -> str | None:
        return self.inner.normalize_id(table, id)

    @property
    def system(self) -> Watch:
        return Watch(self.inner.system, self.log, hide=self.hide)

    def table(self, name: str) -> TableView:
        return _View(self, name)

    def collect_query(self, query: Any, limit: int | None = None) -> list[dict[str, Any]]:
        return [d for d in self.inner.collect_query(query, limit) if self._visible("collect", d)]

    def iterate_query(self, query: Any) -> Any:
        return (d for d in self.inner.iterate_query(query) if self._visible("iterate", d))

    def paginate_query(self, query: Any, opts: Any) -> dict[str, Any]:
        page = self.inner.paginate_query(query, opts)
        return {**page, "page": [d for d in page["page"] if self._visible("paginate", d)]}

    # -- writes: each is logged; a document the wrapper hides cannot be changed ------------
    def insert(self, table: str, document: dict[str, Any]) -> str:
        new_id = self.inner.insert(table, document)
        self.log.append(("insert", new_id))
        return new_id

    def _check(self, how: str, table_or_id: str, id: str | None) -> None:
        doc_id = table_or_id if id is None else id
        if self.get(table_or_id, id) is None:
            raise ConvexError(f"{how}: no visible document {doc_id}")
        self.log.append((how, doc_id))

    def patch(self, table_or_id: str, id_or_fields: Any, fields: Any = _ID_ONLY) -> None:
        if fields is _ID_ONLY:
            self._check("patch", table_or_id, None)
            self.inner.patch(table_or_id, id_or_fields)
        else:
            self._check("patch", table_or_id, id_or_fields)
            self.inner.patch(table_or_id, id_or_fields, fields)

    def replace(self, table_or_id: str, id_or_document: Any, document: Any = _ID_ONLY) -> None:
        if document is _ID_ONLY:
            self._check("replace", table_or_id, None)
            self.inner.replace(table_or_id, id_or_document)
        else:
            self._check("replace", table_or_id, id_or_document)
            self.inner.replace(table_or_id, id_or_document, document)

    def delete(self, table_or_id: str, id: str | None = None) -> None:
        self._check("delete", table_or_id, id)
        self.inner.delete(table_or_id, id)


class _View:
    def __init__(self, db: Watch, name: str) -> None:
        self.db, self.name = db, name

    def get(self, id: str) -> dict[str, Any] | None:
        return self.db.get(self.name, id)

    def query(self) -> Any:
        return self.db.query(self.name)


class _Watching:
    """The subclass way: override get and the three QueryRunner methods (a mixin here, so the
    reader and the writer share it)."""

    log: list[tuple[str, Any]]

    def _visible(self, how: str, doc: dict[str, Any]) -> bool:
        self.log.append((how, doc["_id"]))
        return doc.get("body") != HIDDEN

    def get(self, table_or_id: str, id: str | None = None) -> dict[str, Any] | None:
        doc = super().get(table_or_id, id)
        return doc if doc is None or self._visible("get", doc) else None

    def collect_query(self, query: Any, limit: int | None = None) -> list[dict[str, Any]]:
        docs = super().collect_query(query, limit)
        return [d for d in docs if self._visible("collect", d)]

    def iterate_query(self, query: Any) -> Any:
        docs = super().iterate_query(query)
        return (d for d in docs if self._visible("iterate", d))

    def paginate_query(self, query: Any, opts: Any) -> dict[str, Any]:
        page = super().paginate_query(query, opts)
        return {**page, "page": [d for d in page["page"] if self._visible("paginate", d)]}

    @property
    def system(self) -> Watch:
        return Watch(super().system, self.log)


class WatchingReader(_Watching, DatabaseReader):
    def __init__(self, log: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log = log


class WatchingWriter(_Watching, DatabaseWriter):
    def __init__(self, log: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log = log

    def insert(self, table: str, document: dict[str, Any]) -> str:
        new_id = super().insert(table, document)
        self.log.append(("insert", new_id))
        return new_id

    def patch(self, table_or_id: str, id_or_fields: Any, fields: Any = _ID_ONLY) -> None:
        self.log.append(("patch", table_or_id if fields is _ID_ONLY else id_or_fields))
        if fields is _ID_ONLY:
            super().patch(table_or_id, id_or_fields)
        else:
            super().patch(table_or_id, id_or_fields, fields)

    def replace(self, table_or_id: str, id_or_document: Any, document: Any = _ID_ONLY) -> None:
        self.log.append(("replace", table_or_id if document is _ID_ONLY else id_or_document))
        if document is _ID_ONLY:
            super().replace(table_or_id, id_or_document)
        else:
            super().replace(table_or_id, id_or_document, document)

    def delete(self, table_or_id: str, id: str | None = None) -> None:
        self.log.append(("delete", table_or_id if id is None else id))
        super().delete(table_or_id, id)


def _own_db(ctx: Any, log: list[tuple[str, Any]], *, writer: bool = False) -> Any:
    """A subclass reader (writer) of its own, as an executor hook would build one."""
    limits = reactive_settings.LIMITS
    kwargs: dict[str, Any] = {
        "using": "default",
        "budget": Budget(ctx.path, limits, limits.function_seconds),
        "reads": ReadSet(),
    }
    if writer:
        return WatchingWriter(log, writes=WriteSet(), **kwargs)
    return WatchingReader(log, **kwargs)


# -- data ------------------------------------------------------------------------------------


@pytest.fixture
def messages() -> dict[str, Any]:
    """A channel with four messages by ann, scores 0..3; the one with score 1 is HIDDEN."""

    def body(ctx: Any) -> dict[str, Any]:
        cid = ctx.db.insert("channels", {"name": "general"})
        bodies = ["m0", HIDDEN, "m2", "m3"]
        mids = [
            ctx.db.insert("messages", {"channel": cid, "author": "ann", "body": b, "score": i})
            for i, b in enumerate(bodies)
        ]
        return {"channel": cid, "ids": mids, "hidden": mids[1]}

    return in_mutation(body).unwrap()


def _every_read_path(db: Any, m: dict[str, Any]) -> dict[str, Any]:
    """Each way a function reads documents, through ``db``; results as ids (or None)."""
    hidden, cid = m["hidden"], m["channel"]

    def ids(docs: Any) -> list[str]:
        return [d["_id"] for d in docs]

    def one(doc: dict[str, Any] | None) -> str | None:
        return None if doc is None else doc["_id"]

    def by_score(q: Any) -> Any:
        return q.eq("author", "ann").gte("score", 1)

    return {
        "get": one(db.get("messages", hidden)),
        "get id-only": one(db.get(hidden)),
        "table get": one(db.table("messages").get(hidden)),
        "collect": ids(db.query("messages").collect()),
        "take": ids(db.query("messages").take(3)),
        "first": one(db.query("messages").with_index("by_author_score", by_score).first()),
        "unique": one(db.query("messages").filter(lambda q: q.eq(q.field("score"), 1)).unique()),
        "for loop": ids(doc for doc in db.query("messages").order("desc")),
        "paginate": ids(db.query("messages").paginate(FIRST_PAGE)["page"]),
        "index+order+filter": ids(
            db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", cid))
            .order("desc")
            .filter(lambda q: q.lte(q.field("score"), 2))
            .collect()
        ),
        "table query": ids(db.table("messages").query().take(2)),
    }


def _expected(m: dict[str, Any]) -> dict[str, Any]:
    m0, _, m2, m3 = m["ids"]
    return {
        "get": None,
        "get id-only": None,
        "table get": None,
        "collect": [m0, m2, m3],
        "take": [m0, m2],  # the third row read was the hidden one
        "first": None,  # the first row of the range is the hidden one
        "unique": None,
        "for loop": [m3, m2, m0],
        "paginate": [m0, m2, m3],
        "index+order+filter": [m2, m0],
        "table query": [m0],
    }


def _seen(log: list[tuple[str, Any]], doc_id: str) -> set[str]:
    return {how for how, seen in log if seen == doc_id}


# -- reads -----------------------------------------------------------------------------------


def test_a_delegating_wrapper_sees_and_can_hide_every_read(messages):
    log: list[tuple[str, Any]] = []

    def body(ctx: Any) -> dict[str, Any]:
        ctx = dataclasses.replace(ctx, db=Watch(ctx.db, log))  # as a custom function would
        return _every_read_path(ctx.db, messages)

    out = in_query(body)
    assert out.unwrap() == _expected(messages)
    # every path handed the hidden document to the wrapper, which kept it back
    assert _seen(log, messages["hidden"]) == {"get", "collect", "iterate", "paginate"}
    assert sum(1 for how, _ in log if how == "get") == 3
    # the wrapper filters; what was read is still recorded by the reader underneath
    assert out.journal is not None and "endCursor" in out.journal


def test_a_wrapper_that_hides_nothing_changes_nothing(messages):
    """The same results and the same read set (ranges, cuts, order) as ctx.db itself."""
    plain = in_query(lambda ctx: _every_read_path(ctx.db, messages))
    wrapped = in_query(lambda ctx: _every_read_path(Watch(ctx.db, [], hide=False), messages))
    assert wrapped.unwrap() == plain.unwrap()
    assert wrapped.unwrap()["get"] == messages["hidden"]
    assert wrapped.reads.reads == plain.reads.reads
    assert wrapped.journal == plain.journal


def test_a_subclass_sees_and_can_hide_every_read(messages):
    log: list[tuple[str, Any]] = []
    out = in_query(lambda ctx: _every_read_path(_own_db(ctx, log), messages))
    assert out.unwrap() == _expected(messages)
    assert _seen(log, messages["hidden"]) == {"get", "collect", "iterate", "paginate"}


def test_system_table_reads_go_through_the_wrapper():
    log: list[tuple[str, Any]] = []

    def body(ctx: Any) -> dict[str, Any]:
        job = ctx.scheduler.run_after(3_600_000, BUMP, {"name": "wrapped"})
        db = Watch(ctx.db, log)
        system = db.system
        return {
            "job": job,
            "get": system.get(TABLE, job)["_id"],
            "collect": [d["_id"] for d in system.query(TABLE).collect()],
            "first": system.query(TABLE).first()["_id"],
            "for loop": [d["_id"] for d in system.query(TABLE)],
            "paginate": [
                d["_id"]
                for d in system.query(TABLE).paginate({"numItems": 5, "cursor": None})["page"]
            ],
        }

    out = in_mutation(body).unwrap()
    job = out.pop("job")
    assert out == {
        "get": job,
        "collect": [job],
        "first": job,
        "for loop": [job],
        "paginate": [job],
    }
    assert _seen(log, job) == {"get", "collect", "iterate", "paginate"}


# -- writes ----------------------------------------------------------------------------------


def _every_write_path(db: Any, m: dict[str, Any]) -> str:
    cid, (m0, _, m2, m3) = m["channel"], m["ids"]
    new = db.insert("messages", {"channel": cid, "author": "bob", "body": "new"})
    db.patch("messages", m0, {"body": "patched"})
    db.patch(m2, {"score": 20})
    db.replace("messages", m3, {"channel": cid, "author": "bob", "body": "replaced"})
    db.replace(new, {"channel": cid, "author": "bob", "body": "replaced too"})
    db.delete("messages", m2)
    db.delete(new)
    return new


@pytest.mark.parametrize("how", ["delegate", "subclass"])
def test_a_wrapper_sees_every_write(messages, how):
    log: list[tuple[str, Any]] = []

    def body(ctx: Any) -> str:
        db = Watch(ctx.db, log) if how == "delegate" else _own_db(ctx, log, writer=True)
        return _every_write_path(db, messages)

    out = in_mutation(body)
    new = out.unwrap()
    m0, _, m2, m3 = messages["ids"]
    writes = [entry for entry in log if entry[0] != "get"]
    assert writes == [
        ("insert", new),
        ("patch", m0),
        ("patch", m2),
        ("replace", m3),
        ("replace", new),
        ("delete", m2),
        ("delete", new),
    ]
    left = in_query(lambda ctx: {d["_id"]: d["body"] for d in ctx.db.query("messages")}).unwrap()
    assert left == {m0: "patched", messages["hidden"]: HIDDEN, m3: "replaced"}
    if how == "delegate":  # the writes went through ctx.db's own writer, which recorded them
        ops = [w.op for w in out.writes.writes]
        assert ops == ["insert", "update", "update", "update", "update", "delete", "delete"]


@pytest.mark.parametrize(
    "write",
    [
        lambda db, h: db.patch("messages", h, {"body": "x"}),
        lambda db, h: db.patch(h, {"body": "x"}),
        lambda db, h: db.replace("messages", h, {"channel": None, "author": "", "body": "x"}),
        lambda db, h: db.delete(h),
    ],
    ids=["patch", "patch id-only", "replace", "delete"],
)
def test_a_wrapper_can_refuse_writes_to_what_it_hides(messages, write):
    out = in_mutation(lambda ctx: write(Watch(ctx.db, []), messages["hidden"]))
    assert isinstance(out.error, ConvexError) and "no visible document" in str(out.error)
    body = in_query(lambda ctx: ctx.db.get(messages["hidden"])["body"]).unwrap()
    assert body == HIDDEN


# -- the contract ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "cls"),
    [
        (QueryRunner, DatabaseReader),
        (DocumentReader, DatabaseReader),
        (DocumentWriter, DatabaseWriter),
    ],
)
def test_the_reader_and_writer_have_every_method_of_the_contract(protocol, cls):
    """Checked by name and parameters: mypy cannot, as the reader's __getattr__ answers any
    missing name."""
    members = [
        name
        for klass in protocol.__mro__
        if klass.__module__.startswith("reactive.")
        for name, value in vars(klass).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    ]
    assert members
    for name in members:
        assert name in dir(cls), name
        want = getattr(protocol, name)
        have = getattr(cls, name)
        if isinstance(want, property):
            assert isinstance(have, property), name
            continue
        want_params = list(inspect.signature(want).parameters)
        assert list(inspect.signature(have).parameters) == want_params, name
