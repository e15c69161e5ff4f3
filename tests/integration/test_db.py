"""ctx.db over Django models: documents, get, index ranges, filters, pagination, writes."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db.models import Q

from reactive import REMOVE, Int64, ids
from reactive.errors import (
    DocumentNotFound,
    DocumentValidationError,
    InvalidId,
    NotAllowedHere,
    QueryError,
)
from reactive.limits import approx_size
from reactive.readset import DocRead, IndexRangeRead
from tests.helpers import in_mutation, in_query
from tests.testapp.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)


def setup_channel(name="general", n=0, author="ann"):
    def body(ctx):
        cid = ctx.db.insert("channels", {"name": name})
        mids = [
            ctx.db.insert(
                "messages", {"channel": cid, "body": f"m{i}", "author": author, "score": i}
            )
            for i in range(n)
        ]
        return cid, mids

    return in_mutation(body).unwrap()


def test_insert_and_get_document_shape():
    cid, (mid,) = setup_channel(n=1)
    doc = in_query(lambda ctx: ctx.db.get("messages", mid)).unwrap()
    assert doc["_id"] == mid and isinstance(doc["_creationTime"], float)
    assert doc["channel"] == cid  # a foreign key is the referenced document's id
    assert doc["body"] == "m0" and doc["score"] == 0
    assert set(doc) == {
        "_id",
        "_creationTime",
        "channel",
        "author",
        "body",
        "score",
        "big",
        "payload",
        "rating",
    }
    assert in_query(lambda ctx: ctx.db.get(mid)).unwrap() == doc  # legacy get(id)


def test_get_records_the_id_and_missing_is_none():
    missing = ids.encode_id("messages", 10**9)
    out = in_query(lambda ctx: ctx.db.get("messages", missing))
    assert out.unwrap() is None
    assert out.reads.reads == [DocRead("messages", 10**9)]


@pytest.mark.parametrize("bad", ["not-an-id", ids.encode_id("channels", 1)])
def test_get_with_bad_id(bad):
    with pytest.raises(InvalidId):
        in_query(lambda ctx: ctx.db.get("messages", bad)).unwrap()


def test_int64_bytes_and_float_fields():
    cid, _ = setup_channel()
    mid = in_mutation(
        lambda ctx: ctx.db.insert(
            "messages",
            {
                "channel": cid,
                "body": "b",
                "author": "x",
                "big": Int64(2**60),
                "payload": b"\x00\xff",
                "rating": 2.5,
            },
        )
    ).unwrap()
    doc = in_query(lambda ctx: ctx.db.get("messages", mid)).unwrap()
    assert doc["big"] == 2**60 and isinstance(doc["big"], Int64)
    assert doc["payload"] == b"\x00\xff" and doc["rating"] == 2.5


def test_uuid_pk_and_datetime_creation_time():
    nid = in_mutation(lambda ctx: ctx.db.insert("notes", {"text": "hello"})).unwrap()
    assert isinstance(ids.pk_of("notes", nid), uuid.UUID)
    doc = in_query(lambda ctx: ctx.db.get("notes", nid)).unwrap()
    now_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
    assert abs(doc["_creationTime"] - now_ms) < 60_000
    assert doc["kind"] == "a" and doc["done"] is False


def test_index_range_eq_order_take_and_read_set():
    cid, mids = setup_channel(n=5)
    other, _ = setup_channel("other", n=3)

    out = in_query(
        lambda ctx: (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", cid))
            .collect()
        )
    )
    assert [d["_id"] for d in out.unwrap()] == mids
    (read,) = out.reads.reads
    pk = ids.pk_of("channels", cid)
    assert isinstance(read, IndexRangeRead) and read.index == "by_channel"
    assert read.fields == ("channel_id", "creation_time", "id")
    assert read.lower.prefix == (pk,) and read.upper.prefix == (pk,)

    out = in_query(
        lambda ctx: (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", cid))
            .order("desc")
            .take(2)
        )
    )
    assert [d["_id"] for d in out.unwrap()] == mids[:-3:-1]
    (read,) = out.reads.reads
    assert read.upper.prefix == (pk,) and read.lower.inclusive
    assert read.lower.prefix[0] == pk and read.lower.prefix[2] == ids.pk_of("messages", mids[3])


def test_range_bounds_and_field_order_rules():
    setup_channel(n=10, author="zed")

    def scores(fn):
        return [
            d["score"]
            for d in in_query(
                lambda ctx: ctx.db.query("messages").with_index("by_author_score", fn).collect()
            ).unwrap()
        ]

    assert scores(lambda q: q.eq("author", "zed").gt("score", 3).lte("score", 6)) == [4, 5, 6]
    assert scores(lambda q: q.eq("author", "zed").gte("score", 8)) == [8, 9]
    assert scores(lambda q: q.eq("author", "nobody")) == []
    for bad in (
        lambda q: q.eq("score", 1),
        lambda q: q.gt("author", "a").eq("score", 1),
        lambda q: q.eq("author", "zed").gt("score", 1).gt("score", 2),
        lambda q: q.eq("nope", 1),
    ):
        with pytest.raises(QueryError):
            in_query(
                lambda ctx, bad=bad: (
                    ctx.db.query("messages").with_index("by_author_score", bad).collect()
                )
            ).unwrap()
    with pytest.raises(QueryError, match="no index"):
        in_query(lambda ctx: ctx.db.query("messages").with_index("by_nothing").collect()).unwrap()


def test_first_unique_and_iteration():
    cid, mids = setup_channel(n=300)
    q = lambda ctx: ctx.db.query("messages").with_index(  # noqa: E731
        "by_channel", lambda r: r.eq("channel", cid)
    )
    assert in_query(lambda ctx: q(ctx).first()).unwrap()["_id"] == mids[0]
    with pytest.raises(QueryError, match="more than one"):
        in_query(lambda ctx: q(ctx).unique()).unwrap()
    assert (
        in_query(
            lambda ctx: (
                ctx.db.query("channels").filter(lambda f: f.eq(f.field("name"), "general")).unique()
            )
        ).unwrap()["_id"]
        == cid
    )
    out = in_query(lambda ctx: [d["_id"] for d in q(ctx)])
    assert out.unwrap() == mids
    assert len(out.reads) == 3  # three batches of up to 128 rows, each recorded


def test_filters():
    setup_channel(n=10)

    def bodies(pred):
        return [
            d["body"]
            for d in in_query(lambda ctx: ctx.db.query("messages").filter(pred).collect()).unwrap()
        ]

    assert bodies(lambda q: q.gt(q.field("score"), 7)) == ["m8", "m9"]
    assert bodies(lambda q: q.or_(q.eq(q.field("score"), 1), q.eq(q.field("body"), "m2"))) == [
        "m1",
        "m2",
    ]
    assert bodies(
        lambda q: q.and_(q.gte(q.field("score"), 3), q.not_(q.gte(q.field("score"), 5)))
    ) == ["m3", "m4"]
    assert bodies(lambda q: q.eq(q.mod(q.field("score"), 5), 0)) == ["m0", "m5"]
    assert bodies(lambda q: q.lt(q.add(q.field("score"), 10), 12)) == ["m0", "m1"]
    assert bodies(lambda q: q.eq(q.field("rating"), None))[:1] == ["m0"]
    assert len(bodies(lambda q: q.neq(q.field("rating"), 1.0))) == 10  # NULL != 1.0 is true
    assert bodies(Q(body__in=["m3", "m4"])) == ["m3", "m4"]


def test_paginate_pages_cursors_and_end_cursor():
    cid, mids = setup_channel(n=5)

    def page(opts):
        return in_query(
            lambda ctx: (
                ctx.db.query("messages")
                .with_index("by_channel", lambda q: q.eq("channel", cid))
                .paginate(opts)
            )
        )

    first = page({"numItems": 2, "cursor": None}).unwrap()
    assert [d["_id"] for d in first["page"]] == mids[:2] and not first["isDone"]
    assert set(first) == {"page", "isDone", "continueCursor", "splitCursor", "pageStatus"}
    second = page({"numItems": 2, "cursor": first["continueCursor"]}).unwrap()
    assert [d["_id"] for d in second["page"]] == mids[2:4]
    last = page({"numItems": 2, "cursor": second["continueCursor"]}).unwrap()
    assert [d["_id"] for d in last["page"]] == mids[4:] and last["isDone"]
    assert isinstance(last["continueCursor"], str)

    # With endCursor, a page spans exactly [cursor, endCursor], whatever numItems says:
    # it grows when rows are inserted inside it instead of pushing rows onto the next page.
    in_mutation(lambda ctx: ctx.db.delete("messages", mids[2]))
    again = page(
        {"numItems": 2, "cursor": first["continueCursor"], "endCursor": second["continueCursor"]}
    ).unwrap()
    assert [d["_id"] for d in again["page"]] == [mids[3]]
    new = in_mutation(
        lambda ctx: ctx.db.insert("messages", {"channel": cid, "body": "late", "author": "x"})
    ).unwrap()
    tail = page(
        {"numItems": 2, "cursor": second["continueCursor"], "endCursor": last["continueCursor"]}
    ).unwrap()
    assert [d["_id"] for d in tail["page"]] == [mids[4], new] and tail["isDone"]

    with pytest.raises(QueryError, match="InvalidCursor"):
        page({"numItems": 2, "cursor": "garbage!"}).unwrap()
    with pytest.raises(QueryError):
        page({"numItems": -1, "cursor": None}).unwrap()
    with pytest.raises(QueryError, match="multiple paginated"):
        in_query(
            lambda ctx: [
                ctx.db.query("messages").paginate({"numItems": 1, "cursor": None}) for _ in range(2)
            ]
        ).unwrap()


def test_paginate_desc_and_cursor_from_other_order():
    cid, mids = setup_channel(n=3)
    out = in_query(
        lambda ctx: ctx.db.query("messages").order("desc").paginate({"numItems": 2, "cursor": None})
    ).unwrap()
    assert [d["_id"] for d in out["page"]] == mids[:0:-1]
    with pytest.raises(QueryError, match="InvalidCursor"):
        in_query(
            lambda ctx: ctx.db.query("messages").paginate(
                {"numItems": 2, "cursor": out["continueCursor"]}
            )
        ).unwrap()


def test_writes_record_write_sets():
    cid, (mid,) = setup_channel(n=1)

    def body(ctx):
        ctx.db.patch("messages", mid, {"score": 5})
        new = ctx.db.insert("messages", {"channel": cid, "body": "x", "author": "a"})
        ctx.db.delete("messages", new)
        return new

    out = in_mutation(body)
    out.unwrap()
    ops = [(w.op, w.table) for w in out.writes]
    assert ops == [("update", "messages"), ("insert", "messages"), ("delete", "messages")]
    patch = out.writes.writes[0]
    assert patch.old["channel_id"] == patch.new["channel_id"]
    assert set(patch.new) >= {"channel_id", "author", "score", "creation_time", "id"}


def test_patch_replace_and_remove():
    cid, (mid,) = setup_channel(n=1)
    in_mutation(lambda ctx: ctx.db.patch("messages", mid, {"body": "new", "rating": 1.5}))
    doc = in_query(lambda ctx: ctx.db.get("messages", mid)).unwrap()
    assert (doc["body"], doc["rating"], doc["author"]) == ("new", 1.5, "ann")
    in_mutation(lambda ctx: ctx.db.patch("messages", mid, {"rating": REMOVE, "score": REMOVE}))
    doc = in_query(lambda ctx: ctx.db.get("messages", mid)).unwrap()
    assert doc["rating"] is None and doc["score"] == 0
    in_mutation(
        lambda ctx: ctx.db.replace(
            "messages", mid, {"channel": cid, "body": "replaced", "author": "bob", "_id": mid}
        )
    )
    doc = in_query(lambda ctx: ctx.db.get("messages", mid)).unwrap()
    assert (doc["body"], doc["author"], doc["score"]) == ("replaced", "bob", 0)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"nope": 1}, "no field `nope`"),
        ({"_creationTime": 5}, "system fields"),
        ({"body": None}, "cannot be null"),
        ({"score": 1.5}, "not an integer"),
        ({"author": "x" * 65}, "at most 64"),
        ({"channel": "not-an-id"}, "not an id of table 'channels'"),
        ({"body": REMOVE}, "cannot be removed"),
    ],
)
def test_invalid_patches_write_nothing(change, match):
    cid, (mid,) = setup_channel(n=1)
    with pytest.raises((DocumentValidationError, InvalidId), match=match):
        in_mutation(lambda ctx: ctx.db.patch("messages", mid, change)).unwrap()
    assert Message.objects.get().body == "m0"


def test_insert_validation_and_missing_documents():
    with pytest.raises(DocumentValidationError, match="`channel`.*required"):
        in_mutation(lambda ctx: ctx.db.insert("messages", {"body": "x", "author": "a"})).unwrap()
    with pytest.raises(DocumentValidationError, match="choice"):
        in_mutation(lambda ctx: ctx.db.insert("notes", {"text": "t", "kind": "zzz"})).unwrap()
    gone = ids.encode_id("messages", 10**9)
    with pytest.raises(DocumentNotFound):
        in_mutation(lambda ctx: ctx.db.delete("messages", gone)).unwrap()
    with pytest.raises(DocumentValidationError, match="constraint"):
        in_mutation(lambda ctx: [ctx.db.insert("channels", {"name": "dup"}) for _ in "ab"]).unwrap()
    assert not Channel.objects.exists()


def test_normalize_id_and_table_reader():
    cid, _ = setup_channel()
    assert in_query(lambda ctx: ctx.db.normalize_id("channels", cid)).unwrap() == cid
    assert in_query(lambda ctx: ctx.db.normalize_id("messages", cid)).unwrap() is None
    assert in_query(lambda ctx: ctx.db.table("channels").get(cid)["name"]).unwrap() == "general"
    with pytest.raises(QueryError, match="no table"):
        in_query(lambda ctx: ctx.db.query("nonexistent")).unwrap()


def test_queries_cannot_write():
    with pytest.raises(NotAllowedHere, match="read-only"):
        in_query(lambda ctx: ctx.db.insert("channels", {"name": "x"})).unwrap()
    out = in_query(lambda ctx: Channel.objects.create(name="sneaky"))
    assert out.error is not None  # Postgres refuses: the transaction is READ ONLY
    assert not Channel.objects.exists()


def test_excluded_fields_are_neither_read_nor_written():
    from django.contrib.auth import get_user_model
    from django.core import checks

    from reactive.db.tables import register_table, tables

    User = get_user_model()
    register_table(User, "users_exposed")
    assert [m for m in checks.run_checks() if m.id == "reactive.W006" and "users_exposed" in m.msg]
    register_table(User, "users_exposed", creation_time="date_joined", exclude=("password",))
    user = User.objects.create_user("eve", password="pw")
    uid = ids.encode_id("users_exposed", user.pk)
    doc = in_query(lambda ctx: ctx.db.get("users_exposed", uid)).unwrap()
    assert doc["username"] == "eve" and "password" not in doc
    with pytest.raises(DocumentValidationError, match="no field `password`"):
        in_mutation(lambda ctx: ctx.db.patch("users_exposed", uid, {"password": "x"})).unwrap()
    assert not [m for m in checks.run_checks() if m.id == "reactive.W006"]
    tables.unregister("users_exposed")


def test_paginate_maximum_rows_read_stops_early():
    cid, mids = setup_channel(n=6)
    out = in_query(
        lambda ctx: (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", cid))
            .paginate({"numItems": 5, "cursor": None, "maximumRowsRead": 2})
        )
    ).unwrap()
    assert [d["_id"] for d in out["page"]] == mids[:2] and not out["isDone"]
    assert out["pageStatus"] == "SplitRequired" and out["splitCursor"]
    rest = in_query(
        lambda ctx: (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", cid))
            .paginate({"numItems": 5, "cursor": out["continueCursor"]})
        )
    ).unwrap()
    assert [d["_id"] for d in rest["page"]] == mids[2:]


def test_paginate_zero_items_continues_where_it_started():
    cid, mids = setup_channel(n=3)

    def page(opts):
        return in_query(
            lambda ctx: (
                ctx.db.query("messages")
                .with_index("by_channel", lambda q: q.eq("channel", cid))
                .paginate(opts)
            )
        ).unwrap()

    empty = page({"numItems": 0, "cursor": None})
    assert empty["page"] == [] and not empty["isDone"]
    rest = page({"numItems": 5, "cursor": empty["continueCursor"]})
    assert [d["_id"] for d in rest["page"]] == mids and rest["isDone"]
    first = page({"numItems": 1, "cursor": None})
    empty = page({"numItems": 0, "cursor": first["continueCursor"]})
    assert [
        d["_id"] for d in page({"numItems": 5, "cursor": empty["continueCursor"]})["page"]
    ] == mids[1:]


def test_delete_records_cascaded_rows():
    cid, mids = setup_channel(n=2)
    out = in_mutation(lambda ctx: ctx.db.delete("channels", cid))
    out.unwrap()
    deleted = sorted((w.table, w.op) for w in out.writes)
    assert deleted == [("channels", "delete"), ("messages", "delete"), ("messages", "delete")]
    assert {w.pk for w in out.writes if w.table == "messages"} == {
        ids.pk_of("messages", m) for m in mids
    }
    assert not Message.objects.exists()


def test_id_only_forms_of_get_patch_replace_and_delete():
    """Convex's ``get(id)``, ``patch(id, value)``, ``replace(id, doc)`` and ``delete(id)``: the
    table is the one the id was made for."""
    cid, (mid, other) = setup_channel(n=2)
    in_mutation(lambda ctx: ctx.db.patch(mid, {"body": "patched"})).unwrap()
    assert in_query(lambda ctx: ctx.db.get(mid)["body"]).unwrap() == "patched"
    in_mutation(
        lambda ctx: ctx.db.replace(mid, {"channel": cid, "body": "new", "author": "bob"})
    ).unwrap()
    doc = in_query(lambda ctx: ctx.db.get(mid)).unwrap()
    assert (doc["body"], doc["author"], doc["score"]) == ("new", "bob", 0)
    out = in_mutation(lambda ctx: ctx.db.delete(other))
    out.unwrap()
    assert [(w.table, w.op) for w in out.writes] == [("messages", "delete")]
    assert list(Message.objects.values_list("body", flat=True)) == ["new"]
    in_mutation(lambda ctx: ctx.db.patch(cid, {"name": "renamed"})).unwrap()
    assert Channel.objects.get().name == "renamed"


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda ctx, cid, mid: ctx.db.patch("messages", cid, {"body": "x"}),
            r"ctx\.db\.patch: argument `id` \('\w+'\) is an id of table 'channels', not of table "
            r"'messages'",
        ),
        (
            lambda ctx, cid, mid: ctx.db.replace("channels", mid, {"name": "x"}),
            r"ctx\.db\.replace: argument `id` .* is an id of table 'messages', not of table "
            r"'channels'",
        ),
        (
            lambda ctx, cid, mid: ctx.db.delete("channels", mid),
            r"ctx\.db\.delete: argument `id` .* is an id of table 'messages'",
        ),
        (
            lambda ctx, cid, mid: ctx.db.get("messages", cid),
            r"ctx\.db\.get: argument `id` .* is an id of table 'channels'",
        ),
        (
            lambda ctx, cid, mid: ctx.db.patch("messages", {"body": "x"}),
            r"ctx\.db\.patch: argument `id` \('messages'\) is a table name, not a document id",
        ),
        (
            lambda ctx, cid, mid: ctx.db.delete("nonsense"),
            r"ctx\.db\.delete: argument `id` \('nonsense'\) is not a document id",
        ),
        (
            lambda ctx, cid, mid: ctx.db.patch("messages", "nonsense", {"body": "x"}),
            r"ctx\.db\.patch: argument `id` \('nonsense'\) is not an id of table 'messages'",
        ),
    ],
    ids=[
        "patch",
        "replace",
        "delete",
        "get",
        "patch-without-id",
        "delete-not-an-id",
        "patch-not-an-id",
    ],
)
def test_table_and_id_mismatch_names_the_method_and_argument(call, match):
    cid, (mid,) = setup_channel(n=1)
    with pytest.raises(InvalidId, match=match):
        in_mutation(lambda ctx: call(ctx, cid, mid)).unwrap()
    assert Message.objects.get().body == "m0" and Channel.objects.get().name == "general"


def test_id_only_forms_reach_missing_documents_and_system_tables():
    gone = ids.encode_id("messages", 10**9)
    with pytest.raises(DocumentNotFound, match=r"ctx\.db\.delete: no document"):
        in_mutation(lambda ctx: ctx.db.delete(gone)).unwrap()
    with pytest.raises(DocumentNotFound, match=r"ctx\.db\.patch: no document"):
        in_mutation(lambda ctx: ctx.db.patch(gone, {"body": "x"})).unwrap()
    job = ids.encode_id("_scheduled_functions", 1)
    with pytest.raises(QueryError, match="system table"):
        in_mutation(lambda ctx: ctx.db.delete(job)).unwrap()


def _by_channel_page(cid, opts):
    return in_query(
        lambda ctx: (
            ctx.db.query("messages")
            .with_index("by_channel", lambda q: q.eq("channel", cid))
            .paginate(opts)
        )
    ).unwrap()


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_paginate_maximum_bytes_read_pages_through_everything(order):
    """A 10-byte limit stops each page after its first document (a page always holds one):
    the page says SplitRequired, and its continueCursor pages through every row once."""
    cid, mids = setup_channel(n=5)
    seen, cursor, pages = [], None, 0
    while True:
        opts = {"numItems": 3, "cursor": cursor, "maximumBytesRead": 10}
        page = in_query(
            lambda ctx, opts=opts: (
                ctx.db.query("messages")
                .with_index("by_channel", lambda q: q.eq("channel", cid))
                .order(order)
                .paginate(opts)
            )
        ).unwrap()
        pages += 1
        seen += [d["_id"] for d in page["page"]]
        if page["isDone"]:
            break
        assert len(page["page"]) == 1
        assert page["pageStatus"] == "SplitRequired" and page["splitCursor"]
        cursor = page["continueCursor"]
    assert seen == (mids if order == "asc" else mids[::-1])
    assert pages == 5  # the last document ends the range: no empty page after it


def test_paginate_maximum_bytes_read_split_cursor_halves_the_page():
    """The split halves, read with endCursor as a client splitting the page does, are exactly
    the short page: endCursor pages are never cut by the limit."""
    cid, mids = setup_channel(n=6)
    size = in_query(lambda ctx: approx_size(ctx.db.get(mids[0]))).unwrap()
    first = _by_channel_page(cid, {"numItems": 5, "cursor": None, "maximumBytesRead": 3 * size - 1})
    assert [d["_id"] for d in first["page"]] == mids[:3] and not first["isDone"]
    assert first["pageStatus"] == "SplitRequired"
    low = _by_channel_page(
        cid,
        {"numItems": 5, "cursor": None, "endCursor": first["splitCursor"], "maximumBytesRead": 1},
    )
    high = _by_channel_page(
        cid,
        {
            "numItems": 5,
            "cursor": first["splitCursor"],
            "endCursor": first["continueCursor"],
            "maximumBytesRead": 1,
        },
    )
    assert [d["_id"] for d in low["page"] + high["page"]] == mids[:3]
    assert low["page"] and high["page"] and low["pageStatus"] != "SplitRequired"
    rest = _by_channel_page(cid, {"numItems": 5, "cursor": first["continueCursor"]})
    assert [d["_id"] for d in rest["page"]] == mids[3:] and rest["isDone"]


def test_paginate_limits_that_do_not_stop_the_page():
    cid, mids = setup_channel(n=3)
    whole = _by_channel_page(cid, {"numItems": 5, "cursor": None, "maximumBytesRead": 10**6})
    assert [d["_id"] for d in whole["page"]] == mids and whole["isDone"]
    assert whole["pageStatus"] is None and whole["splitCursor"] is None
    size = in_query(lambda ctx: approx_size(ctx.db.get(mids[0]))).unwrap()
    near = _by_channel_page(cid, {"numItems": 5, "cursor": None, "maximumBytesRead": 4 * size - 4})
    assert near["isDone"] and near["pageStatus"] == "SplitRecommended" and near["splitCursor"]
    with pytest.raises(QueryError, match=r"paginationOpts\.maximumBytesRead must be a positive"):
        _by_channel_page(cid, {"numItems": 5, "cursor": None, "maximumBytesRead": 0})
