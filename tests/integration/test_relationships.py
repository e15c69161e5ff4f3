"""Relationship helpers (reactive.db.relationships) against real Postgres: their results, the
read sets they record (a write to a related row overlaps them, an unrelated one does not), their
errors, and that a wrapper of ctx.db hiding a document hides it from every helper.

`messages` serves as the join table between authors and channels: ``get_many_via(db,
"messages", "channel", "by_author_score", "ann")`` is the channels ann wrote in.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from reactive.db.relationships import (
    get_all,
    get_all_or_throw,
    get_many_from,
    get_many_via,
    get_many_via_or_throw,
    get_one_from,
    get_one_from_or_throw,
)
from reactive.errors import DocumentNotFound, InvalidId, QueryError
from reactive.functions.outcome import Outcome
from tests.helpers import in_mutation, in_query
from tests.integration.test_db_interface import HIDDEN, Watch

pytestmark = pytest.mark.django_db(transaction=True)


class HideByTopic(Watch):
    """The delegating wrapper of test_db_interface, also hiding channels whose topic is HIDDEN."""

    def _visible(self, how: str, doc: dict[str, Any]) -> bool:
        return super()._visible(how, doc) and doc.get("topic") != HIDDEN


@pytest.fixture
def data() -> dict[str, Any]:
    """Channels c1, c2, c3 (c3's topic HIDDEN), c4 (no messages); ann writes in c1, c2, c3, bob
    in c1; one of ann's messages in c1 is HIDDEN. Counters a and b."""

    def body(ctx: Any) -> dict[str, Any]:
        c = [ctx.db.insert("channels", {"name": f"c{i}"}) for i in (1, 2, 3, 4)]
        ctx.db.patch("channels", c[2], {"topic": HIDDEN})

        def msg(channel: str, author: str, body: str, score: int) -> str:
            doc = {"channel": channel, "author": author, "body": body, "score": score}
            return str(ctx.db.insert("messages", doc))

        m = [
            msg(c[0], "ann", "hi", 0),
            msg(c[1], "ann", "yo", 1),
            msg(c[2], "ann", "hey", 2),
            msg(c[0], "bob", "sup", 3),
            msg(c[0], "ann", HIDDEN, 4),
        ]
        counters = {n: ctx.db.insert("counters", {"name": n, "value": 1}) for n in "ab"}
        return {"c": c, "m": m, "counters": counters}

    return in_mutation(body).unwrap()


def _ids(docs: list[dict[str, Any] | None]) -> list[str | None]:
    return [None if d is None else d["_id"] for d in docs]


def _helpers(db: Any, d: dict[str, Any]) -> dict[str, Any]:
    """Every helper, through ``db``; results as ids."""
    c, m = d["c"], d["m"]
    one = get_one_from(db, "counters", "by_name", "a")
    return {
        "get_all": _ids(get_all(db, "messages", [m[1], m[4], m[0]])),
        "get_one_from": one and one["_id"],
        "get_many_from": _ids(get_many_from(db, "messages", "by_channel", c[0])),
        "get_many_via": _ids(get_many_via(db, "messages", "channel", "by_author_score", "ann")),
    }


# -- results ---------------------------------------------------------------------------------


def test_each_helper_returns_what_convex_helpers_would(data):
    c, m = data["c"], data["m"]
    out = in_query(lambda ctx: _helpers(ctx.db, data)).unwrap()
    assert out == {
        "get_all": [m[1], m[4], m[0]],
        "get_one_from": data["counters"]["a"],
        "get_many_from": [m[0], m[3], m[4]],  # index order: creation time
        "get_many_via": [c[0], c[1], c[2], c[0]],  # one per join row, ann's by score
    }


def test_missing_documents_are_none_or_raise_in_the_or_throw_variants(data):
    c, m = data["c"], data["m"]

    def body(ctx: Any) -> dict[str, Any]:
        ctx.db.delete("channels", c[1])  # cascades to m[1]
        ctx.db.delete("messages", m[3])
        return {
            "get_all": _ids(get_all(ctx.db, "messages", [m[3], m[0]])),
            "one": get_one_from(ctx.db, "counters", "by_name", "zzz"),
            "many": _ids(get_many_from(ctx.db, "messages", "by_channel", c[3])),
            "field": _ids(get_many_from(ctx.db, "messages", "by_channel", c[0], "channel")),
            "or_throw": _ids(get_all_or_throw(ctx.db, "messages", [m[0]])),
            "via or_throw": _ids(
                get_many_via_or_throw(ctx.db, "messages", "channel", "by_author_score", "ann")
            ),
            "one or_throw": get_one_from_or_throw(ctx.db, "counters", "by_name", "b")["_id"],
        }

    out = in_mutation(body).unwrap()
    assert out == {
        "get_all": [None, m[0]],
        "one": None,
        "many": [],
        "field": [m[0], m[4]],
        "or_throw": [m[0]],
        "via or_throw": [c[0], c[2], c[0]],  # c2 and its message are gone
        "one or_throw": data["counters"]["b"],
    }

    with pytest.raises(DocumentNotFound, match=rf"table 'messages' with id {m[3]}"):
        in_query(lambda ctx: get_all_or_throw(ctx.db, "messages", [m[0], m[3]])).unwrap()
    with pytest.raises(DocumentNotFound, match=r"table 'counters' with 'by_name' = 'zzz'"):
        in_query(lambda ctx: get_one_from_or_throw(ctx.db, "counters", "by_name", "zzz")).unwrap()


def test_get_many_via_or_throw_names_the_id_that_leads_nowhere(data):
    c = data["c"]

    def body(ctx: Any) -> Any:
        db = HideByTopic(ctx.db, [])  # c3 is hidden: ann's message there leads nowhere
        found = _ids(get_many_via(db, "messages", "channel", "by_author_score", "ann"))
        assert found == [c[0], c[1], None]  # (her HIDDEN message in c1 is no join row)
        return get_many_via_or_throw(db, "messages", "channel", "by_author_score", "ann")

    with pytest.raises(DocumentNotFound, match=rf"'messages'.channel = '{c[2]}'"):
        in_query(body).unwrap()


def test_unknown_tables_indexes_and_fields_raise_what_queries_raise(data):
    c = data["c"]
    cases = {
        "table": lambda db: get_many_from(db, "nope", "by_x", 1),
        "index": lambda db: get_one_from(db, "counters", "by_nope", "a"),
        "field": lambda db: get_many_from(db, "messages", "by_channel", c[0], "author"),
        "via field": lambda db: get_many_via(db, "messages", "nope", "by_channel", c[0]),
    }
    messages = {}
    for name, call in cases.items():
        out = in_query(lambda ctx, call=call: call(ctx.db))
        assert isinstance(out.error, QueryError), name
        messages[name] = str(out.error)
    assert "nope" in messages["table"]
    assert "has no index 'by_nope'" in messages["index"]
    assert "the next field must be 'channel'" in messages["field"]
    assert "table 'messages' has no field 'nope'" in messages["via field"]
    wrong = in_query(lambda ctx: get_all(ctx.db, "messages", [c[0]]))
    assert isinstance(wrong.error, InvalidId)


# -- read sets -------------------------------------------------------------------------------


def _writes(body: Any) -> Any:
    out = in_mutation(body)
    out.unwrap()
    assert out.writes is not None
    return list(out.writes)


def _overlaps(out: Outcome, body: Any) -> bool:
    assert out.reads is not None
    return out.reads.overlaps_any(_writes(body))


def test_the_read_set_covers_related_rows_and_nothing_else(data):
    c, m, counters = data["c"], data["m"], data["counters"]

    many = in_query(lambda ctx: get_many_from(ctx.db, "messages", "by_channel", c[0]))
    new_in_c1 = {"channel": c[0], "author": "cat", "body": "new"}
    new_in_c2 = {"channel": c[1], "author": "cat", "body": "new"}
    assert _overlaps(many, lambda ctx: ctx.db.insert("messages", new_in_c1))
    assert not _overlaps(many, lambda ctx: ctx.db.insert("messages", new_in_c2))

    one = in_query(lambda ctx: get_one_from(ctx.db, "counters", "by_name", "a"))
    assert _overlaps(one, lambda ctx: ctx.db.patch("counters", counters["a"], {"value": 2}))
    assert not _overlaps(one, lambda ctx: ctx.db.patch("counters", counters["b"], {"value": 2}))
    assert not _overlaps(one, lambda ctx: ctx.db.insert("counters", {"name": "a2"}))
    # a row that moves out of the range overlaps it too
    assert _overlaps(one, lambda ctx: ctx.db.patch("counters", counters["a"], {"name": "z"}))

    all_ = in_query(lambda ctx: get_all(ctx.db, "messages", [m[1]]))
    assert _overlaps(all_, lambda ctx: ctx.db.patch("messages", m[1], {"score": 9}))
    assert not _overlaps(all_, lambda ctx: ctx.db.patch("messages", m[2], {"score": 9}))

    via = in_query(
        lambda ctx: get_many_via(ctx.db, "messages", "channel", "by_author_score", "bob")
    )
    # the followed channel, and the join rows of the index range (a new membership)
    assert _overlaps(via, lambda ctx: ctx.db.patch("channels", c[0], {"topic": "t"}))
    assert _overlaps(via, lambda ctx: ctx.db.insert("messages", {**new_in_c2, "author": "bob"}))
    assert not _overlaps(via, lambda ctx: ctx.db.patch("channels", c[1], {"topic": "t"}))
    assert not _overlaps(via, lambda ctx: ctx.db.insert("messages", new_in_c2))


def test_helpers_read_what_the_same_queries_read(data):
    """The same read set as the hand-written gets and queries (nothing extra, nothing missed)."""
    c, m = data["c"], data["m"]

    def by_hand(ctx: Any) -> Any:
        rows = (
            ctx.db.query("messages")
            .with_index("by_author_score", lambda q: q.eq("author", "ann"))
            .collect()
        )
        [ctx.db.get(r["channel"]) for r in rows]
        ctx.db.query("messages").with_index("by_channel", lambda q: q.eq("channel", c[0])).collect()
        ctx.db.get("messages", m[0])

    def helpers(ctx: Any) -> Any:
        get_many_via(ctx.db, "messages", "channel", "by_author_score", "ann")
        get_many_from(ctx.db, "messages", "by_channel", c[0])
        get_all(ctx.db, "messages", [m[0]])

    mine, theirs = in_query(helpers).reads, in_query(by_hand).reads
    assert mine is not None and theirs is not None
    assert mine.reads == theirs.reads


# -- rules: a wrapper of ctx.db ----------------------------------------------------------------


def test_a_wrapper_hiding_a_document_hides_it_from_every_helper(data):
    c, m = data["c"], data["m"]
    log: list[tuple[str, Any]] = []

    def body(ctx: Any) -> dict[str, Any]:
        ctx = dataclasses.replace(ctx, db=HideByTopic(ctx.db, log))  # as a custom function would
        return {
            **_helpers(ctx.db, data),
            "get_one_from hidden": get_one_from(ctx.db, "channels", "by_id", c[2], "_id"),
            "get_all channels": _ids(get_all(ctx.db, "channels", [c[2], c[1]])),
        }

    out = in_query(body).unwrap()
    assert out == {
        "get_all": [m[1], None, m[0]],  # m[4] is HIDDEN
        "get_one_from": data["counters"]["a"],
        "get_many_from": [m[0], m[3]],
        "get_many_via": [c[0], c[1], None],  # the HIDDEN join row is skipped, c3 is hidden
        "get_one_from hidden": None,
        "get_all channels": [None, c[1]],
    }
    assert ("get", c[2]) in log and ("collect", m[4]) in log and ("get", m[4]) in log

    with pytest.raises(DocumentNotFound):
        in_query(lambda ctx: get_all_or_throw(HideByTopic(ctx.db, []), "messages", [m[4]])).unwrap()
