"""Attacks on row-level rules from a caller's side, against a live server (HTTP and raw sync
frames): each test is a way a denied row, or a value of one, could reach someone who may not
read it. The rules are tests/testapp/rules.py's; the functions tests/testapp/functions/rules.py's.
"""

from __future__ import annotations

import base64
import random
import re
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.integration.test_rules_live import User, frames, unique

pytestmark = pytest.mark.django_db

R = "testapp/rules:"


def decoded(cursor: Any) -> str:
    """What a caller reads out of a cursor by undoing base64 (the encoding a cursor had)."""
    if not isinstance(cursor, str):
        return ""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:  # not base64 at all
        return ""
    return raw.decode("utf-8", "replace")


def _delete_diaries(owner: User, ids: list[str]) -> None:
    """Diaries these tests write come first in score order, where other tests' pages start:
    removed afterwards (the live server's database is shared)."""
    for id in ids:
        owner.do("mutation", R + "delete_diary", {"id": id})


async def test_a_cursor_never_carries_a_denied_rows_values(asgi_server: LiveServer) -> None:
    """A Python read rule filters after the read, so a page may end on (and split at) rows the
    caller may not read: its cursors hold those rows' index keys. They must not be readable:
    here, the score of alice's private diary, the first row of the index."""
    alice, bob = User(asgi_server, "alice"), User(asgi_server, "bob")
    score = -random.randrange(10**9, 2 * 10**9)
    written = [
        alice.do("mutation", R + "write_diary", {"body": unique("PRIVATE"), "score": score + i})
        for i in range(2)
    ]
    try:
        await _page_through_denied_diaries(bob, score)
    finally:
        _delete_diaries(alice, written)


async def _page_through_denied_diaries(bob: User, score: int) -> None:
    first = {"paginationOpts": {"numItems": 1, "cursor": None}}
    page = bob.do("query", R + "diaries_page", first)
    assert page["page"] == []  # the row read was alice's: nothing readable
    assert str(score) not in decoded(page["continueCursor"])
    # the cursor still works: paging on reaches the next row without error
    nxt = bob.do(
        "query",
        R + "diaries_page",
        {"paginationOpts": {"numItems": 1, "cursor": page["continueCursor"]}},
    )
    assert str(score + 1) not in decoded(nxt["continueCursor"])
    # and over the WebSocket, where the page's end travels in the journal too
    sub = await bob.socket()
    try:
        await sub.subscribe(R + "diaries_page", first)
        for text in _b64_strings(frames(sub)):
            assert str(score) not in text
    finally:
        await sub.close()


def _b64_strings(text: str) -> list[str]:
    """Every base64-looking token of ``text``, decoded."""
    return [decoded(token) for token in re.findall(r"[A-Za-z0-9_\-]{16,}", text)]


def test_a_q_filter_joining_a_table_with_rules_is_no_oracle(asgi_server: LiveServer) -> None:
    """A Django ``Q`` in ``.filter()`` may follow a relation into another table: that table's
    rows are then read in SQL around its rules. Here bob asks which teams have a post titled
    (or paid) so-and-so, and learns that alice's private post exists, and its hidden salary."""
    alice, bob = User(asgi_server, "alice"), User(asgi_server, "bob")
    title, salary = unique("PRIVATE"), unique("SALARY")
    # bob is a member, so he may read the team post (not its salary); alice's private post is
    # in another team
    team = alice.do("mutation", R + "create_team", {"name": unique("T")})
    other = alice.do("mutation", R + "create_team", {"name": unique("T")})
    alice.do("mutation", R + "create_post", {"title": title, "team": other, "salary": salary})
    alice.do("mutation", R + "create_post", {"title": unique("t"), "team": team, "salary": salary})
    alice.do("mutation", R + "join", {"team": team, "user": bob.subject})
    # a join into a table without rules (members) still works
    assert [t["_id"] for t in bob.do("query", R + "teams_with_member", {"user": bob.subject})] == [
        team
    ]
    for args in ({"title": title}, {"salary": salary}):  # title: a denied row; salary: hidden
        secret = bob.call("query", R + "teams_with_post", args)
        absent = bob.call("query", R + "teams_with_post", {k: unique("X") for k in args})
        assert secret == absent, (args, secret, absent)  # the same answer: nothing learnt
        assert title not in str(secret) and salary not in str(secret)


def test_a_delete_cannot_cascade_to_rows_the_rules_protect(asgi_server: LiveServer) -> None:
    """teams may be deleted by anyone (no delete rule, default allow), and a team's posts go
    with it (``on_delete=CASCADE``): bob deleting alice's team deleted her private post, a
    delete the posts' rules refuse him. The cascade is checked like the delete itself."""
    alice, bob = User(asgi_server, "alice"), User(asgi_server, "bob")
    title = unique("PRIVATE")
    team = alice.do("mutation", R + "create_team", {"name": unique("T")})
    post = alice.do("mutation", R + "create_post", {"title": title, "team": team})
    body = bob.call("mutation", R + "delete_team", {"team": team})
    assert body["status"] == "error", body
    assert title not in str(body)
    assert alice.do("query", R + "post", {"id": post})["title"] == title  # nothing deleted
    # alice may delete her own team: its only post is hers, and members have no rules
    alice.do("mutation", R + "join", {"team": team, "user": bob.subject})
    alice.do("mutation", R + "delete_team", {"team": team})
    assert alice.do("query", R + "post", {"id": post}) is None
    assert alice.do("query", R + "team", {"id": team}) is None


@pytest.mark.xfail(
    strict=True,
    reason="a page under a Python read rule keeps its size in rows read (convex-helpers' "
    "behaviour, docs/rules.md): a short page with isDone false tells where denied rows sit in "
    "the index order. Reading on until numItems readable rows needs the page machinery "
    "(cursors, endCursor journal, splits) below the rules wrapper; open.",
)
def test_a_short_page_does_not_reveal_where_denied_rows_sit(asgi_server: LiveServer) -> None:
    """Pages of one row through diaries_by_score: an empty page that is not done says that a
    row bob may not read comes next in score order, so the pattern of empty pages bounds the
    scores of alice's private diaries between the scores bob can see."""
    alice, bob = User(asgi_server, "alice"), User(asgi_server, "bob")
    score = -random.randrange(10**9, 2 * 10**9)
    hers = alice.do("mutation", R + "write_diary", {"body": unique("PRIVATE"), "score": score})
    his = bob.do("mutation", R + "write_diary", {"body": unique("mine"), "score": score + 1})
    try:
        opts = {"numItems": 1, "cursor": None}
        page = bob.do("query", R + "diaries_page", {"paginationOpts": opts})
    finally:
        _delete_diaries(alice, [hers])
        _delete_diaries(bob, [his])
    assert page["page"] or page["isDone"], page  # empty and not done: a denied row is next
