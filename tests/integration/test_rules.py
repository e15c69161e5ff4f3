"""Row-level rules (reactive.rules) through the real executor and Postgres: every read path hides
what the rules deny, writes obey insert/modify/delete, hidden fields, rules that fail, explicit
`wrap_db`, internal functions. The rules are tests/testapp/rules.py's; the functions
tests/testapp/functions/rules.py's. Over HTTP and the WebSocket: test_rules_live.py.

Data (`world`): alice owns a private post (p_alice), a team post (p_team, team T where bob is a
member) and a public one (p_public); carol owns a private post (p_carol). Bob may read p_team
(membership), p_public and his own; never p_alice or p_carol.
"""

from __future__ import annotations

from typing import Any

import pytest

from reactive import internal
from reactive.errors import (
    DocumentNotFound,
    QueryError,
    RuleDenied,
    RuleFailed,
)
from reactive.testing import ReactiveClient

pytestmark = pytest.mark.django_db(transaction=True)

R = "testapp/rules:"


@pytest.fixture(autouse=True)
def empty_tables() -> None:
    """Start from empty rule tables: live-server tests (test_rules_live.py) commit theirs."""
    from tests.testapp.models import Diary, Post, Team

    Post.objects.all().delete()
    Diary.objects.all().delete()
    Team.objects.all().delete()  # and their members


def who(subject: str, **claims: Any) -> ReactiveClient:
    return ReactiveClient().with_identity(subject, **claims)


alice, bob, carol = who("alice"), who("bob"), who("carol")
admin = who("root", role="admin")
anon = ReactiveClient()


@pytest.fixture
def world() -> dict[str, str]:
    team = alice.mutation(R + "create_team", {"name": "T"})
    alice.mutation(R + "join", {"team": team, "user": "bob"})
    return {
        "team": team,
        "p_alice": alice.mutation(R + "create_post", {"title": "a", "score": 1, "salary": "s1"}),
        "p_team": alice.mutation(
            R + "create_post", {"title": "t", "score": 2, "team": team, "salary": "s2"}
        ),
        "p_public": alice.mutation(R + "create_post", {"title": "p", "score": 3, "public": True}),
        "p_carol": carol.mutation(R + "create_post", {"title": "c", "score": 4, "salary": "s4"}),
        "p_bob": bob.mutation(R + "create_post", {"title": "b", "score": 5}),
    }


def titles(docs: Any) -> list[str]:
    return [d["title"] for d in docs]


# --- reads: every path ---------------------------------------------------------------------


def test_every_query_path_shows_bob_only_what_he_may_read(world: dict[str, str]) -> None:
    assert titles(bob.query(R + "posts", {"how": "collect"})) == ["t", "p", "b"]
    assert titles(bob.query(R + "posts", {"how": "iterate"})) == ["t", "p", "b"]
    assert titles(bob.query(R + "posts", {"how": "take", "n": 2})) == ["t", "p"]
    assert bob.query(R + "posts", {"how": "first"})["title"] == "t"
    assert titles(bob.query(R + "posts", {"how": "filter", "n": 3})) == ["p", "b"]
    page = bob.query(R + "posts_page", {"paginationOpts": {"numItems": 2, "cursor": None}})
    assert titles(page["page"]) == ["t", "p"]  # a Q rule: full pages
    # unique() sees only readable rows: alice has three posts, bob can see one of them... no:
    # two (p_team, p_public) -> unique() over alice's posts is an error for bob, for carol one
    assert carol.query(R + "posts_of", {"owner": "carol"})["title"] == "c"
    assert bob.query(R + "posts_of", {"owner": "carol"}) is None
    with pytest.raises(QueryError, match="more than one"):
        bob.query(R + "posts_of", {"owner": "alice"})
    # anonymous callers see the public post only; admins everything
    assert titles(anon.query(R + "posts")) == ["p"]
    assert titles(admin.query(R + "posts")) == ["a", "t", "p", "c", "b"]


def test_get_returns_none_for_a_denied_row_by_every_spelling(world: dict[str, str]) -> None:
    for fn in ("post", "post_by_id", "post_view"):
        assert bob.query(R + fn, {"id": world["p_alice"]}) is None, fn
        assert bob.query(R + fn, {"id": world["p_team"]})["title"] == "t", fn
        assert alice.query(R + fn, {"id": world["p_alice"]})["title"] == "a", fn


def test_relationship_helpers_obey_the_rules(world: dict[str, str]) -> None:
    ids = [world["p_alice"], world["p_team"], world["p_carol"], world["p_public"]]
    got = bob.query(R + "posts_all", {"ids": ids})
    assert [d and d["title"] for d in got] == [None, "t", None, "p"]
    assert titles(bob.query(R + "team_posts", {"team": world["team"]})) == ["t"]
    assert titles(carol.query(R + "team_posts", {"team": world["team"]})) == []
    assert [t["name"] for t in bob.query(R + "teams_of", {"user": "bob"})] == ["T"]


def test_a_q_rule_that_follows_relations_reads_those_tables(world: dict[str, str]) -> None:
    """Joining a team makes its posts readable; the query's read set names the membership
    table, so a subscriber is re-run when a membership row changes."""
    outcome = carol.call(R + "posts")
    assert titles(outcome.value) == ["p", "c"]
    read_tables = {getattr(r, "table", None) for r in outcome.reads.reads}
    assert "members" in read_tables
    member = alice.mutation(R + "join", {"team": world["team"], "user": "carol"})
    assert titles(carol.query(R + "posts")) == ["t", "p", "c"]
    alice.mutation(R + "leave", {"member": member})
    assert titles(carol.query(R + "posts")) == ["p", "c"]


def test_a_many_valued_join_does_not_repeat_rows(world: dict[str, str]) -> None:
    """bob in team T twice: a plain join would return p_team twice."""
    alice.mutation(R + "join", {"team": world["team"], "user": "bob"})
    assert titles(bob.query(R + "posts")) == ["t", "p", "b"]


# --- a Python read rule --------------------------------------------------------------------


@pytest.fixture
def diaries() -> dict[str, str]:
    out = {}
    for i in range(6):
        out[f"a{i}"] = alice.mutation(R + "write_diary", {"body": f"a{i}", "score": i * 2})
    out["shared"] = alice.mutation(R + "write_diary", {"body": "sh", "shared": True, "score": 5})
    out["b"] = bob.mutation(R + "write_diary", {"body": "b", "score": 11})
    return out


def bodies(docs: Any) -> list[str]:
    return [d["body"] for d in docs]


def test_python_rule_on_every_path(diaries: dict[str, str]) -> None:
    assert bodies(bob.query(R + "diaries")) == ["sh", "b"]
    assert bodies(bob.query(R + "diaries", {"how": "iterate"})) == ["sh", "b"]
    # take and first read on until they have enough readable rows
    assert bodies(bob.query(R + "diaries", {"how": "take", "n": 2})) == ["sh", "b"]
    assert bob.query(R + "diaries", {"how": "first"})["body"] == "sh"
    assert bob.query(R + "diaries", {"how": "unique", "n": 4}) is None
    assert alice.query(R + "diaries", {"how": "unique", "n": 4})["body"] == "a2"
    assert bob.query(R + "diary", {"id": diaries["a1"]}) is None
    assert bob.query(R + "diary", {"id": diaries["shared"]})["body"] == "sh"


def test_python_rule_pages_come_back_short_with_their_cursors(diaries: dict[str, str]) -> None:
    seen: list[str] = []
    cursor = None
    sizes = []
    while True:
        opts = {"numItems": 3, "cursor": cursor}
        page = bob.query(R + "diaries_page", {"paginationOpts": opts})
        seen += bodies(page["page"])
        sizes.append(len(page["page"]))
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert seen == ["sh", "b"]
    assert sizes[0] == 0  # alice's first three entries: a page with nothing readable


# --- writes ---------------------------------------------------------------------------------


def test_insert_rule(world: dict[str, str]) -> None:
    with pytest.raises(RuleDenied, match=r"ctx.db.insert: the rules of table 'posts'"):
        bob.mutation(R + "create_post", {"title": "x", "owner": "alice"})
    with pytest.raises(RuleDenied):
        anon.mutation(R + "create_post", {"title": "x"})
    assert titles(admin.query(R + "posts")) == ["a", "t", "p", "c", "b"]


def test_writes_to_a_row_bob_cannot_read_look_like_a_missing_row(world: dict[str, str]) -> None:
    missing = bob.mutation(R + "create_post", {"title": "gone"})
    bob.mutation(R + "delete_post", {"id": missing})
    for fn, args in (
        ("patch_post", {"fields": {"title": "x"}}),
        ("patch_post_by_id", {"fields": {"title": "x"}}),
        ("replace_post", {"doc": {"title": "x", "owner": "bob"}}),
        ("delete_post", {}),
    ):
        with pytest.raises(DocumentNotFound) as denied:
            bob.mutation(R + fn, {"id": world["p_alice"], **args})
        with pytest.raises(DocumentNotFound) as absent:
            bob.mutation(R + fn, {"id": missing, **args})
        assert str(denied.value).replace(world["p_alice"], "ID") == str(absent.value).replace(
            missing, "ID"
        ), fn
    assert alice.query(R + "post", {"id": world["p_alice"]})["title"] == "a"


def test_modify_rule_sees_the_new_value(world: dict[str, str]) -> None:
    # bob can read p_team but not change it: not his
    with pytest.raises(RuleDenied, match=r"ctx.db.patch: the rules of table 'posts'"):
        bob.mutation(R + "patch_post", {"id": world["p_team"], "fields": {"title": "x"}})
    # alice may change her post, but not give it away nor title it "forbidden"
    alice.mutation(R + "patch_post", {"id": world["p_alice"], "fields": {"title": "a2"}})
    for fields in ({"owner": "bob"}, {"title": "forbidden"}):
        with pytest.raises(RuleDenied):
            alice.mutation(R + "patch_post", {"id": world["p_alice"], "fields": fields})
    with pytest.raises(RuleDenied, match="ctx.db.replace"):
        alice.mutation(
            R + "replace_post", {"id": world["p_alice"], "doc": {"title": "x", "owner": "bob"}}
        )
    doc = admin.query(R + "post", {"id": world["p_alice"]})
    assert (doc["title"], doc["owner"]) == ("a2", "alice")


def test_a_refused_write_writes_nothing_even_when_the_function_catches_it(
    world: dict[str, str],
) -> None:
    got = alice.mutation(R + "try_patch_post", {"id": world["p_alice"], "fields": {"owner": "x"}})
    assert got == "RuleDenied"
    assert admin.query(R + "post", {"id": world["p_alice"]})["owner"] == "alice"


def test_delete_rules(world: dict[str, str], diaries: dict[str, str]) -> None:
    with pytest.raises(RuleDenied, match="ctx.db.delete"):
        bob.mutation(R + "delete_post", {"id": world["p_team"]})  # modify(old, None): not his
    alice.mutation(R + "delete_post", {"id": world["p_team"]})
    assert admin.query(R + "post", {"id": world["p_team"]}) is None
    # diaries declare `delete`: bob may read the shared entry, not delete it
    with pytest.raises(RuleDenied):
        bob.mutation(R + "delete_diary", {"id": diaries["shared"]})
    alice.mutation(R + "delete_diary", {"id": diaries["shared"]})


# --- hidden fields --------------------------------------------------------------------------


def test_hidden_fields_are_removed_everywhere(world: dict[str, str]) -> None:
    for docs in (
        alice.query(R + "posts"),
        alice.query(R + "posts_page", {"paginationOpts": {"numItems": 9, "cursor": None}})["page"],
        alice.query(R + "posts_all", {"ids": [world["p_alice"]]}),
        [alice.query(R + "post", {"id": world["p_alice"]})],
        alice.query(R + "team_posts", {"team": world["team"]}),
    ):
        assert docs and all("salary" not in d for d in docs)
    assert admin.query(R + "post", {"id": world["p_alice"]})["salary"] == "s1"


def test_hidden_fields_cannot_be_ranged_ordered_or_filtered_on(world: dict[str, str]) -> None:
    for fn, args in (
        ("posts_by_salary", {"salary": "s1"}),
        ("posts_filter_salary", {"salary": "s1"}),
        ("posts_filter_salary", {"salary": "s1", "django_q": True}),
    ):
        with pytest.raises(QueryError, match="field `salary` of table 'posts' is hidden"):
            alice.query(R + fn, args)
        assert admin.query(R + fn, args)[0]["title"] == "a"


def test_hidden_fields_cannot_be_written_and_survive_a_replace(world: dict[str, str]) -> None:
    with pytest.raises(RuleDenied, match="field `salary`"):
        alice.mutation(R + "patch_post", {"id": world["p_alice"], "fields": {"salary": "x"}})
    with pytest.raises(RuleDenied, match="field `salary`"):
        alice.mutation(
            R + "replace_post",
            {"id": world["p_alice"], "doc": {"title": "r", "owner": "alice", "salary": "x"}},
        )
    alice.mutation(
        R + "replace_post", {"id": world["p_alice"], "doc": {"title": "r", "owner": "alice"}}
    )
    doc = admin.query(R + "post", {"id": world["p_alice"]})
    assert (doc["title"], doc["salary"]) == ("r", "s1")


# --- rules that fail ------------------------------------------------------------------------


def test_a_rule_that_raises_is_a_clear_error_without_its_detail() -> None:
    boom = alice.mutation(R + "create_team", {"name": "boom"})
    outcome = alice.call(R + "team", {"id": boom})
    assert isinstance(outcome.error, RuleFailed)
    assert str(outcome.error) == "rule `read` of table 'teams' raised ValueError"
    assert "secret detail" not in str(outcome.error)
    none = alice.mutation(R + "create_team", {"name": "none"})
    with pytest.raises(RuleFailed, match="returned NoneType, not a bool"):
        alice.query(R + "team", {"id": none})


def test_a_failing_insert_rule_writes_nothing() -> None:
    with pytest.raises(RuleFailed, match=r"rule `insert` of table 'teams' raised KeyError"):
        alice.mutation(R + "create_team", {"name": "boom-insert"})
    from tests.helpers import in_query

    assert in_query(lambda ctx: ctx.db.query("teams").collect()).unwrap() == []


def test_a_malformed_read_filter_fails_as_a_rule_error() -> None:
    with pytest.raises(RuleFailed, match="`read_filter` of table 'counters' is not a valid"):
        ReactiveClient().query(R + "explicit_read", {"rules": "bad_filter", "table": "counters"})


def test_a_read_filter_joining_an_unregistered_table_is_refused() -> None:
    """Its changes are not captured, so a subscription could go stale: refused, clearly."""
    with pytest.raises(RuleFailed, match="joins 'auth_user_groups', which is not a registered"):
        ReactiveClient().query(
            R + "explicit_read", {"rules": "unregistered_join", "table": "users"}
        )


# --- explicit wrap_db, default deny, system tables, internal functions ---------------------


def test_internal_functions_are_not_wrapped(world: dict[str, str]) -> None:
    docs = ReactiveClient().query(R + "all_posts")
    assert len(docs) == 5 and all("salary" in d for d in docs)


def test_default_deny_and_explicit_wrap(world: dict[str, str]) -> None:
    from tests.helpers import in_mutation

    def seed(ctx: Any) -> list[str]:
        return [ctx.db.insert("counters", {"name": n, "value": 0}) for n in ("open", "shut")]

    opened, shut = in_mutation(seed).unwrap()
    got = ReactiveClient().query(R + "explicit_read", {"rules": "deny", "table": "counters"})
    assert [d["name"] for d in got["collect"]] == ["open"]
    assert [d["name"] for d in got["page"]] == ["open"]
    assert [d and d["name"] for d in got["get"]] == ["open", None]
    # a table with no rules is unreadable under default deny
    got = ReactiveClient().query(R + "explicit_read", {"rules": "deny", "table": "channels"})
    assert got == {"collect": [], "page": [], "get": []}
    client = ReactiveClient()
    with pytest.raises(RuleDenied, match="insert"):
        client.mutation(
            R + "explicit_write", {"rules": "deny", "op": "insert", "table": "counters"}
        )
    with pytest.raises(RuleDenied, match="patch"):
        client.mutation(
            R + "explicit_write",
            {"rules": "deny", "op": "patch", "table": "counters", "id": opened},
        )
    with pytest.raises(DocumentNotFound):
        client.mutation(
            R + "explicit_write", {"rules": "deny", "op": "delete", "table": "counters", "id": shut}
        )


def test_system_tables_obey_rules() -> None:
    from tests.helpers import in_mutation

    def schedule(ctx: Any) -> None:
        for word in ("visible", "hidden"):
            ctx.scheduler.run_after(60_000, internal.testapp.scheduling.bump, {"name": word})

    in_mutation(schedule).unwrap()
    got = ReactiveClient().query(
        R + "explicit_read",
        {"rules": "system", "table": "_scheduled_functions", "system": True},
    )
    assert len(got["collect"]) == len(got["page"]) == 1
    assert [d is not None for d in got["get"]].count(True) == 1
