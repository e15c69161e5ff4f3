"""reactive.sync.subscriptions: holding and releasing, one subscription per distinct query,
`apply()` and the sessions it returns, `affected()` through the read index. No database.

Outcomes and read sets are built directly (plain data), as the executor would fill them in."""

from __future__ import annotations

from typing import Any

from reactive.auth import Identity
from reactive.errors import ConvexError
from reactive.functions.outcome import Outcome
from reactive.readset import Bound, DocRead, DocWrite, IndexRangeRead, ReadSet, TableRead
from reactive.sync.protocol import Add, ModifyQuerySet
from reactive.sync.session import QueryEntry, SyncSession
from reactive.sync.subscriptions import SubscriptionManager, modification_of, subscription_key

ALICE = Identity(subject="alice", issuer="https://issuer.example")
BOB = Identity(subject="bob", issuer="https://issuer.example")


def session_with(manager: SubscriptionManager, identity: Identity | None = None) -> SyncSession:
    session = SyncSession(identity=identity, flag=manager.flag)
    manager.sessions.add(session)
    return session


def entry(
    session: SyncSession,
    query_id: int,
    path: str = "messages:list",
    args: Any = None,
    journal: str | None = None,
) -> QueryEntry:
    base = session.recv_query_set
    session.modify_query_set(
        ModifyQuerySet(base, base + 1, [Add(query_id, path, {} if args is None else args, journal)])
    )
    session.dirty = False
    return session.queries[query_id]


def outcome(value: Any, *reads: Any, **fields: Any) -> Outcome:
    return Outcome(
        "messages:list", value=value, encoded=value, reads=ReadSet(list(reads)), **fields
    )


def row(author: str) -> dict[str, Any]:
    return {"author": author}


BY_AUTHOR = ("author",)


def ann_range() -> IndexRangeRead:
    return IndexRangeRead(
        "messages", "by_author", BY_AUTHOR, Bound(("ann",), True), Bound(("ann",), True)
    )


# --- holding ---------------------------------------------------------------------------------


def test_identical_queries_share_one_subscription() -> None:
    manager = SubscriptionManager()
    one, two = session_with(manager), session_with(manager)
    a = manager.hold(one, entry(one, 0, "messages:list", {"a": 1, "b": 2}))
    b = manager.hold(two, entry(two, 5, "messages:list", {"b": 2, "a": 1}))
    assert a is b and a.holders == {(one, 0), (two, 5)}
    assert one.queries[0].subscription is a and two.queries[5].subscription is a
    assert list(manager.subs.values()) == [a] and manager.new == {a} and manager.stale() == [a]


def test_the_canonical_path_is_one_query() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    a = manager.hold(session, entry(session, 0, "messages"))
    b = manager.hold(session, entry(session, 1, "messages.js:default"))
    assert a is b and a.key[0] == "messages:default"


def test_arguments_identity_and_journal_tell_subscriptions_apart() -> None:
    manager = SubscriptionManager()
    anon, alice, bob = (
        session_with(manager),
        session_with(manager, ALICE),
        session_with(manager, BOB),
    )
    subs = {
        manager.hold(anon, entry(anon, 0, args={"n": 1})),
        manager.hold(anon, entry(anon, 1, args={"n": 2})),
        manager.hold(alice, entry(alice, 0, args={"n": 1})),
        manager.hold(bob, entry(bob, 0, args={"n": 1})),
        manager.hold(anon, entry(anon, 2, args={"n": 1}, journal='{"end": 3}')),
    }
    assert len(subs) == len(manager.subs) == 5
    assert subscription_key("m:q", {"n": 1}, ALICE, None) == (
        "m:q",
        '{"n":1.0}',
        ALICE.cache_key(),
        "",
    )  # a Python int is a float64


def test_a_journal_that_is_not_an_object_is_no_journal() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    a = manager.hold(session, entry(session, 0))
    assert manager.hold(session, entry(session, 1, journal="[1]")) is a
    assert manager.hold(session, entry(session, 2, journal="not json")) is a


def test_release_keeps_a_subscription_while_it_has_holders() -> None:
    manager = SubscriptionManager()
    one, two = session_with(manager), session_with(manager)
    sub = manager.hold(one, entry(one, 0))
    manager.hold(two, entry(two, 0))
    manager.apply(sub, outcome([], ann_range()))
    manager.release(one, one.queries[0])
    assert manager.subs == {sub.key: sub} and sub.holders == {(two, 0)}
    assert manager.affected([DocWrite("messages", 1, "insert", None, row("ann"))]) == {sub}
    manager.release(two, two.queries[0])
    assert manager.subs == {} and sub.holders == set() and manager.new == set()
    assert manager.affected([DocWrite("messages", 1, "insert", None, row("ann"))]) == set()
    assert not manager.by_table["messages"]


def test_release_of_an_entry_without_a_subscription_does_nothing() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    manager.release(session, entry(session, 0))
    assert manager.subs == {}


def test_release_all_forgets_the_session() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    manager.hold(session, entry(session, 0))
    manager.hold(session, entry(session, 1, args={"n": 1}))
    session.dirty = True
    manager.release_all(session)
    assert manager.subs == {} and manager.sessions == set() and manager.take_flagged() == set()


def test_a_static_subscription_is_never_shared_nor_run() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    refused = {
        "type": "QueryFailed",
        "errorMessage": "too many queries",
        "logLines": [],
        "journal": None,
    }
    query = entry(session, 0)
    manager.hold_static(session, query, refused)
    sub = query.subscription
    assert sub is not None and sub.static and not sub.stale
    assert sub.modification == refused and sub.result_hash is not None
    assert manager.subs == {} and manager.stale() == []
    manager.rehold_all(session)  # an identity change keeps it refused
    assert query.subscription is sub
    manager.release(session, query)
    assert manager.subs == {}


def test_rehold_all_moves_queries_to_the_new_identity() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    old = manager.hold(session, entry(session, 0))
    session.identity = ALICE
    manager.rehold_all(session)
    new = session.queries[0].subscription
    assert new is not None and new is not old and new.identity is ALICE
    assert list(manager.subs.values()) == [new]


# --- results ---------------------------------------------------------------------------------


def test_apply_returns_the_holders_when_the_result_changes() -> None:
    manager = SubscriptionManager()
    one, two = session_with(manager), session_with(manager)
    sub = manager.hold(one, entry(one, 0))
    manager.hold(two, entry(two, 3))
    assert manager.apply(sub, outcome(["a"], ann_range())) == {one, two}
    # the sessions are the listener's to mark: apply writes none of them
    assert not one.dirty and not two.dirty
    assert sub.modification == {
        "type": "QueryUpdated",
        "value": ["a"],
        "logLines": [],
        "journal": None,
    }
    assert not sub.stale and manager.new == set()
    # the same result (log lines aside) sends nothing
    assert manager.apply(sub, outcome(["a"], ann_range(), log_lines=["[LOG] again"])) == set()
    assert manager.apply(sub, outcome(["a", "b"], ann_range())) == {one, two}


def test_apply_keeps_a_paginated_querys_journal() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    sub = manager.hold(session, entry(session, 0))
    manager.apply(sub, outcome({"page": []}, ann_range(), journal={"end": "c1"}))
    assert sub.journal == {"end": "c1"} and sub.modification["journal"] == '{"end": "c1"}'
    manager.apply(sub, outcome({"page": []}, ann_range(), journal={"end": "c2"}))
    assert sub.journal == {"end": "c1"}  # the first page's end pins every re-run


def test_a_failed_run_is_query_failed_with_its_data() -> None:
    failed = Outcome("m:q", error=ConvexError({"code": "NOPE"}), log_lines=["[ERROR] x"])
    assert modification_of(failed, None) == {
        "type": "QueryFailed",
        "errorMessage": 'Uncaught ConvexError: {"code": "NOPE"}',
        "logLines": ["[ERROR] x"],
        "journal": None,
        "errorData": {"code": "NOPE"},
    }


# --- which subscriptions a write touches -----------------------------------------------------


def test_affected_finds_the_subscriptions_whose_reads_a_write_touches() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    by_ann = manager.hold(session, entry(session, 0, args={"q": "ann"}))
    doc_7 = manager.hold(session, entry(session, 1, args={"q": "doc"}))
    channels = manager.hold(session, entry(session, 2, args={"q": "channels"}))
    never_run = manager.hold(session, entry(session, 3, args={"q": "new"}))
    manager.apply(by_ann, outcome([], ann_range()))
    manager.apply(doc_7, outcome(None, DocRead("messages", 7)))
    manager.apply(channels, outcome([], TableRead("channels")))

    def hit(*writes: DocWrite) -> set[Any]:
        return manager.affected(writes)

    assert hit(DocWrite("messages", 1, "insert", None, row("ann"))) == {by_ann}
    assert hit(DocWrite("messages", 1, "update", row("ann"), row("bob"))) == {by_ann}
    assert hit(DocWrite("messages", 1, "insert", None, row("bob"))) == set()
    assert hit(DocWrite("messages", 7, "delete", row("bob"), None)) == {doc_7}
    assert hit(DocWrite("messages", 2, "update", {}, {})) == {by_ann}  # no key: anywhere
    assert hit(DocWrite("messages", 2, "update", whole_table=True)) == {by_ann, doc_7}
    assert hit(DocWrite("channels", 1, "insert", None, {"name": "x"})) == {channels}
    assert hit(
        DocWrite("channels", 1, "insert", None, {}),
        DocWrite("messages", 7, "delete", row("ann"), None),
    ) == {channels, by_ann, doc_7}
    assert never_run not in hit(DocWrite("messages", 1, "insert", whole_table=True))


def test_a_new_result_replaces_the_reads_it_was_filed_under() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    sub = manager.hold(session, entry(session, 0))
    manager.apply(sub, outcome([], ann_range()))
    manager.apply(sub, outcome(["x"], TableRead("channels")))
    assert manager.affected([DocWrite("messages", 1, "insert", None, row("ann"))]) == set()
    assert manager.affected([DocWrite("messages", 1, "insert", whole_table=True)]) == set()
    assert manager.affected([DocWrite("channels", 1, "delete", {}, None)]) == {sub}


def test_unrun_lists_the_socket_queries_that_still_need_a_run() -> None:
    manager = SubscriptionManager()
    session = session_with(manager)
    done = manager.hold(session, entry(session, 0))
    waiting = manager.hold(session, entry(session, 1, args={"n": 1}))
    manager.hold_static(session, entry(session, 2, args={"n": 2}), {"type": "QueryFailed"})
    manager.apply(done, outcome([], ann_range()))
    results = [e.subscription for e in session.queries.values() if e.subscription is not None]
    assert manager.unrun(results) == {waiting}


def test_holding_releasing_and_applying_wait_for_a_pick_on_the_listener_thread() -> None:
    """The listener's thread picks a tick's re-runs (`affected`, `live`) holding the manager's
    lock; the loop's changes to who holds what and to the index wait for it, so a pick never
    sees them half made."""
    import threading

    manager = SubscriptionManager()
    session = session_with(manager)
    sub = manager.hold(session, entry(session, 0))
    done: list[str] = []

    def change(name: str, fn: Any) -> threading.Thread:
        def run() -> None:
            fn()
            done.append(name)

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    with manager.lock:  # a pick in progress
        threads = [
            change("hold", lambda: manager.hold(session, entry(session, 1))),
            change("apply", lambda: manager.apply(sub, outcome(1, ann_range()))),
            change("release", lambda: manager.release(session, session.queries[0])),
        ]
        for thread in threads:
            thread.join(timeout=0.2)
        assert done == []
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(done) == ["apply", "hold", "release"]
