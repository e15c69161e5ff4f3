"""reactive.sync.session: one socket's versions, query set and Transitions, without I/O.

Subscriptions are built directly (plain data): a query's result is its `result_hash` and
`modification`, as the subscription manager leaves them after a run."""

from __future__ import annotations

from typing import Any

import pytest

from reactive.auth import Identity
from reactive.sync.protocol import (
    Add,
    Authenticate,
    Connect,
    ModifyQuerySet,
    ProtocolError,
    Remove,
    encode_ts,
)
from reactive.sync.session import SessionState, SyncSession, Work
from reactive.sync.subscriptions import Subscription

ALICE = Identity(subject="alice", issuer="https://issuer.example")


def add(query_id: int, path: str = "messages:list", args: Any = None) -> Add:
    return Add(query_id, path, {} if args is None else args)


def result(sub: Subscription, value: Any) -> None:
    """What SubscriptionManager.apply leaves on a subscription after a run."""
    sub.result_hash = f"h{value!r}"
    sub.modification = {"type": "QueryUpdated", "value": value, "logLines": [], "journal": None}


def subscribe(session: SyncSession, *query_ids: int, value: Any = "v") -> list[Subscription]:
    """Add the queries (one ModifyQuerySet) and give each a subscription with a result."""
    base = session.recv_query_set
    session.modify_query_set(ModifyQuerySet(base, base + 1, [add(q) for q in query_ids]))
    subs = []
    for qid in query_ids:
        entry = session.queries[qid]
        entry.subscription = Subscription(
            ("k", str(qid), "", ""), entry.path, entry.args, session.identity, None
        )
        result(entry.subscription, value)
        subs.append(entry.subscription)
    return subs


def tick(session: SyncSession, ts: int) -> dict[str, Any] | None:
    """One listener tick: capture the work, complete it at ``ts``, take the Transition."""
    session.complete(session.begin(), ts)
    return session.transition()


def ver(query_set: int, identity: int, ts: int) -> dict[str, Any]:
    return {"querySet": query_set, "identity": identity, "ts": encode_ts(ts)}


# --- ModifyQuerySet --------------------------------------------------------------------------


def test_modify_query_set_advances_the_received_version() -> None:
    session = SyncSession(identity=None)
    adds, removed = session.modify_query_set(ModifyQuerySet(0, 1, [add(0), add(1)]))
    assert [a.query_id for a in adds] == [0, 1] and removed == []
    assert session.recv_query_set == 1 and sorted(session.queries) == [0, 1]
    adds, removed = session.modify_query_set(ModifyQuerySet(1, 5, [Remove(0)]))
    assert adds == [] and [e.query_id for e in removed] == [0]
    assert session.recv_query_set == 5 and sorted(session.queries) == [1]
    assert session.removed == [(0, 5)]


def test_modify_query_set_base_version_must_be_the_last_one() -> None:
    session = SyncSession(identity=None)
    session.modify_query_set(ModifyQuerySet(0, 1, []))
    with pytest.raises(ProtocolError) as exc:
        session.modify_query_set(ModifyQuerySet(0, 2, []))
    assert str(exc.value) == "BaseVersionMismatch: ModifyQuerySet baseVersion 0, expected 1"


@pytest.mark.parametrize("new", [0, 1])
def test_modify_query_set_new_version_must_grow(new: int) -> None:
    session = SyncSession(identity=None, recv_query_set=1)
    with pytest.raises(ProtocolError, match="newVersion must be greater than baseVersion"):
        session.modify_query_set(ModifyQuerySet(1, new, []))


@pytest.mark.parametrize(
    "mods, message",
    [
        ([add(0), add(0)], "Duplicate query id 0 in ModifyQuerySet"),
        ([add(3)], "Duplicate query id 3 in ModifyQuerySet"),  # 3 is held already
        ([Remove(9)], "Remove of unknown query id 9"),
        ([Remove(3), Remove(3)], "Remove of unknown query id 3"),
    ],
)
def test_a_refused_modification_changes_nothing(mods: list[Any], message: str) -> None:
    session = SyncSession(identity=None)
    session.modify_query_set(ModifyQuerySet(0, 1, [add(3)]))
    session.dirty = False
    with pytest.raises(ProtocolError) as exc:
        session.modify_query_set(ModifyQuerySet(1, 2, [add(4), *mods]))
    assert str(exc.value) == message
    assert session.recv_query_set == 1 and sorted(session.queries) == [3]
    assert session.removed == [] and not session.dirty


def test_an_add_removed_in_the_same_message_is_no_add() -> None:
    session = SyncSession(identity=None)
    adds, removed = session.modify_query_set(ModifyQuerySet(0, 1, [add(0), Remove(0)]))
    assert adds == [] and [e.query_id for e in removed] == [0] and session.queries == {}


def test_a_query_id_may_be_removed_and_re_added_in_one_message() -> None:
    session = SyncSession(identity=None)
    session.modify_query_set(ModifyQuerySet(0, 1, [add(0, args={"n": 1})]))
    adds, removed = session.modify_query_set(
        ModifyQuerySet(1, 2, [Remove(0), add(0, args={"n": 2})])
    )
    assert adds == [add(0, args={"n": 2})] and removed[0].args == {"n": 1}
    assert session.queries[0].args == {"n": 2}


def test_becoming_dirty_flags_the_session() -> None:
    flagged: list[SyncSession] = []
    session = SyncSession(identity=None, flag=flagged.append)
    session.modify_query_set(ModifyQuerySet(0, 1, []))
    assert session.dirty and flagged == [session]
    session.dirty = False
    assert flagged == [session]  # only becoming dirty flags it


# --- Authenticate and mutations --------------------------------------------------------------


def test_authenticate_advances_the_identity_version() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0)
    tick(session, 10)
    assert session.last_sent
    session.authenticate(Authenticate("User", 0, "jwt"), ALICE)
    assert session.identity is ALICE and session.recv_identity == 1
    assert session.last_sent == {} and session.dirty  # every result is sent again
    with pytest.raises(ProtocolError) as exc:
        session.authenticate(Authenticate("None", 0), None)
    assert str(exc.value) == "Authenticate baseVersion 0, expected 1"
    assert session.identity is ALICE and session.recv_identity == 1


def test_work_captured_before_an_authenticate_is_never_sent() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0, value="anonymous")
    tick(session, 10)
    work = session.begin()  # a tick starts with the anonymous identity's queries
    session.authenticate(Authenticate("User", 0, "jwt"), ALICE, expires_at=123.0)
    assert session.expires_at == 123.0
    assert session.complete(work, 20) is False  # it finished after the switch: dropped
    assert session.ready is None and session.transition() is None
    assert session.dirty  # the next tick owes the new identity's results
    message = tick(session, 30)
    assert message is not None and message["endVersion"] == ver(1, 1, 30)
    assert message["startVersion"] == ver(1, 0, 10)


def test_a_readied_transition_of_the_old_identity_is_dropped_at_the_switch() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0)
    assert session.complete(session.begin(), 10) is True  # ready, not sent yet
    session.authenticate(Authenticate("User", 0, "jwt"), ALICE)
    assert session.transition() is None and session.ready is None
    assert session.sent_identity == 0 and session.dirty


def test_expiry_of_the_identity() -> None:
    session = SyncSession(identity=None)
    assert not session.expired(1e12)  # no token: never
    session.authenticate(Authenticate("User", 0, "jwt"), ALICE, expires_at=100.0)
    assert not session.expired(99.9) and session.expired(100.0)
    session.authenticate(Authenticate("None", 1), None)
    assert session.expires_at is None and not session.expired(1e12)


def test_owe_transition_keeps_the_highest_ts() -> None:
    session = SyncSession(identity=None)
    session.owe_transition(20)
    session.owe_transition(10)
    assert session.min_ts == 20 and session.owed and session.dirty


def test_connect_records_the_session_id_and_whether_it_may_resend() -> None:
    session = SyncSession(identity=None)
    session.connect(Connect("abc", 0))
    assert (session.session_id, session.reconnected) == ("abc", False)
    session.connect(Connect("abc", 2))
    assert session.reconnected


def test_a_mutation_response_carries_its_commit_ts_or_the_last_ticks() -> None:
    session = SyncSession(identity=None, sent_ts=50)
    session.keep_above(0, now=0, shift=False)
    assert session.mutation_ts(300, tick_ts=10) == 300  # committed: its own ts
    assert session.mutation_ts(None, tick_ts=80) == 80  # failed: the last tick's
    assert session.mutation_ts(None, tick_ts=10) == 50  # never below what was sent
    session.keep_above(5000, now=1000, shift=True)
    assert session.mutation_ts(300, tick_ts=10) == 4300  # in the socket's labels


def test_a_mutation_is_committing_until_its_response_is_sent() -> None:
    session = SyncSession(identity=None)
    session.mutation_committing(42)
    assert session.committing == 42 and not session.dirty
    session.mutation_answered(120)
    assert session.committing is None
    assert session.owed and session.min_ts == 120 and session.dirty


def test_close_ends_the_session() -> None:
    session = SyncSession(identity=None)
    session.close()
    assert session.state is SessionState.CLOSED


# --- ticks and Transitions -------------------------------------------------------------------


def test_begin_captures_versions_queries_and_removals() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0, 1)
    session.modify_query_set(ModifyQuerySet(1, 2, [Remove(1), add(2)]))  # 2 has no subscription
    work = session.begin()
    assert (work.query_set, work.identity) == (2, 0)
    assert sorted(work.queries) == [0] and work.removed == [1]
    assert not session.dirty


def test_transitions_chain_start_to_end() -> None:
    session = SyncSession(identity=None)
    (sub,) = subscribe(session, 0, value="a")
    first = tick(session, 100)
    assert first == {
        "type": "Transition",
        "startVersion": ver(0, 0, 0),
        "endVersion": ver(1, 0, 100),
        "modifications": [
            {"type": "QueryUpdated", "value": "a", "logLines": [], "journal": None, "queryId": 0}
        ],
    }
    result(sub, "b")
    second = tick(session, 150)
    assert second is not None
    assert second["startVersion"] == first["endVersion"] and second["endVersion"] == ver(1, 0, 150)
    assert [m["value"] for m in second["modifications"]] == ["b"]
    assert (session.sent_query_set, session.sent_identity, session.sent_ts) == (1, 0, 150)


def test_nothing_new_sends_nothing() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0)
    assert tick(session, 100) is not None
    assert tick(session, 200) is None  # same result, same versions
    assert session.ready is None and session.sent_ts == 100
    assert session.transition() is None  # no completed work


def test_moved_versions_alone_make_an_empty_transition() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0)
    tick(session, 100)
    session.authenticate(Authenticate("User", 0, "jwt"), ALICE)
    session.last_sent[0] = session.queries[0].subscription.result_hash  # type: ignore[union-attr]
    message = tick(session, 120)
    assert message is not None and message["modifications"] == []
    assert message["endVersion"] == ver(1, 1, 120)


def test_removed_queries_are_answered_once() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0, 1)
    tick(session, 100)
    session.modify_query_set(ModifyQuerySet(1, 2, [Remove(1)]))
    message = tick(session, 110)
    assert message is not None
    assert message["modifications"] == [{"type": "QueryRemoved", "queryId": 1}]
    assert message["endVersion"] == ver(2, 0, 110)
    assert session.removed == [] and 1 not in session.last_sent
    assert tick(session, 120) is None


def test_a_removal_after_the_work_was_captured_waits_for_the_next_transition() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0, 1)
    work = session.begin()
    session.modify_query_set(ModifyQuerySet(1, 2, [Remove(1)]))
    session.complete(work, 100)
    message = session.transition()
    assert message is not None and message["endVersion"] == ver(1, 0, 100)
    assert {m["queryId"] for m in message["modifications"]} == {0, 1}
    assert session.removed == [(1, 2)]
    message = tick(session, 110)
    assert message is not None
    assert message["modifications"] == [{"type": "QueryRemoved", "queryId": 1}]


def test_a_transition_is_held_while_owed_below_min_ts() -> None:
    session = SyncSession(identity=None)
    (sub,) = subscribe(session, 0)
    tick(session, 100)
    session.owe_transition(300)
    result(sub, "changed")
    assert tick(session, 200) is None  # the mutation is not in this snapshot
    assert session.ready is None and session.owed and session.sent_ts == 100
    message = tick(session, 300)
    assert message is not None and message["endVersion"]["ts"] == encode_ts(300)
    assert [m["value"] for m in message["modifications"]] == ["changed"]
    assert not session.owed


def test_an_owed_transition_is_sent_even_when_empty() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0)
    tick(session, 100)
    session.owe_transition(150)
    message = tick(session, 160)
    assert message is not None and message["modifications"] == []
    assert message["startVersion"] == ver(1, 0, 100) and message["endVersion"] == ver(1, 0, 160)
    assert not session.owed
    assert tick(session, 170) is None


def test_results_are_frozen_when_the_work_completes() -> None:
    """A later tick may update a shared subscription before this work is sent: the Transition
    carries the snapshot its ts labels."""
    session = SyncSession(identity=None)
    (sub,) = subscribe(session, 0, value="at 100")
    session.complete(session.begin(), 100)
    result(sub, "at 200")
    message = session.transition()
    assert message is not None and message["endVersion"]["ts"] == encode_ts(100)
    assert [m["value"] for m in message["modifications"]] == ["at 100"]
    assert session.last_sent[0] == "h'at 100'"
    message = tick(session, 200)
    assert message is not None and [m["value"] for m in message["modifications"]] == ["at 200"]


def test_a_query_without_a_result_yet_is_not_sent() -> None:
    session = SyncSession(identity=None)
    (sub,) = subscribe(session, 0)
    sub.result_hash = None
    message = tick(session, 100)
    assert message is not None and message["modifications"] == []  # the version still moves
    assert 0 not in session.last_sent


def test_a_closed_session_is_sent_nothing() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0)
    session.complete(session.begin(), 100)
    session.state = SessionState.CLOSED
    assert session.transition() is None


# --- timestamps the socket is sent -----------------------------------------------------------


def test_ts_never_goes_back() -> None:
    session = SyncSession(identity=None)
    (sub,) = subscribe(session, 0)
    tick(session, 100)
    result(sub, "later")
    message = tick(session, 90)  # an older snapshot completing late
    assert message is not None and message["endVersion"]["ts"] == encode_ts(100)


def test_keep_above_sets_a_floor() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0)
    session.keep_above(500, now=1000, shift=False)
    assert (session.floor, session.shift) == (500, 0) and session.label(7) == 7
    message = tick(session, 100)
    assert message is not None and message["endVersion"]["ts"] == encode_ts(500)
    session.keep_above(400, now=1000, shift=False)
    assert session.floor == 500  # the floor only rises


def test_keep_above_with_shift_moves_every_ts_up() -> None:
    session = SyncSession(identity=None)
    (sub,) = subscribe(session, 0)
    session.keep_above(5000, now=1000, shift=True)
    assert (session.floor, session.shift) == (5000, 4000)
    assert session.label(1200) == 5200
    message = tick(session, 1200)
    assert message is not None and message["endVersion"]["ts"] == encode_ts(5200)
    result(sub, "later")
    message = tick(session, 1300)  # order kept: 1200 < 1300 is 5200 < 5300
    assert message is not None and message["endVersion"]["ts"] == encode_ts(5300)
    session.keep_above(3000, now=1000, shift=True)
    assert session.shift == 4000  # the shift only rises


def test_owed_ts_is_compared_in_the_sockets_labels() -> None:
    session = SyncSession(identity=None)
    subscribe(session, 0)
    session.keep_above(5000, now=1000, shift=True)
    session.owe_transition(session.label(1500))
    session.complete(session.begin(), 1400)
    assert session.transition() is None
    session.complete(session.begin(), 1500)
    assert session.transition() is not None


def test_complete_stores_the_work_and_its_label() -> None:
    session = SyncSession(identity=None, sent_ts=50)
    work = Work(0, 0, {}, [])
    session.complete(work, 40)
    assert session.ready is work and session.ready_ts == 50 and work.results == {}
