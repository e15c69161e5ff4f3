"""Rules, custom functions and triggers on one ctx.db: an internal function opting into the
project's rules through a custom builder, and triggers sitting below the rules (they see only the
writes the rules let through, and their own writes are not the caller's to be refused)."""

from __future__ import annotations

from typing import Any

import pytest

from reactive import internal
from reactive.errors import RuleDenied
from reactive.testing import ReactiveClient
from reactive.triggers import register, unregister

pytestmark = pytest.mark.django_db(transaction=True)

R = "testapp/rules:"


@pytest.fixture(autouse=True)
def empty_tables() -> None:
    from tests.testapp.models import Diary, Post

    Post.objects.all().delete()
    Diary.objects.all().delete()


alice = ReactiveClient().with_identity("alice")
bob = ReactiveClient().with_identity("bob")


def test_an_internal_function_can_opt_into_the_rules_with_a_custom_builder() -> None:
    alice.mutation(R + "create_post", {"title": "private"})
    alice.mutation(R + "create_post", {"title": "public", "public": True})
    assert bob.query(internal.testapp.combined.posts) == ["public"]
    assert sorted(bob.query(internal.testapp.combined.posts_unruled)) == ["private", "public"]
    assert sorted(alice.query(internal.testapp.combined.posts)) == ["private", "public"]
    with pytest.raises(RuleDenied):
        bob.mutation(internal.testapp.combined.write_diary_for, {"owner": "alice", "body": "x"})


def test_triggers_run_below_the_rules() -> None:
    seen: list[tuple[str, Any]] = []

    def on_diary(ctx: Any, change: Any) -> None:
        seen.append((change.operation, change.new_doc["body"]))
        # a write bob's rules would refuse (a post owned by someone else): triggers are server
        # code below the rules, so it is made, in bob's transaction
        ctx.db.insert("posts", {"owner": "system", "title": f"about {change.new_doc['body']}"})

    register("diaries", on_diary)
    try:
        bob.mutation(R + "write_diary", {"body": "mine"})
        with pytest.raises(RuleDenied):  # refused by the rules: no trigger, nothing written
            bob.mutation(internal.testapp.combined.write_diary_for, {"owner": "x", "body": "no"})
    finally:
        unregister("diaries", on_diary)
    assert seen == [("insert", "mine")]
    assert alice.query(internal.testapp.combined.posts_unruled) == ["about mine"]
    with pytest.raises(RuleDenied):  # bob himself may not write such a post
        bob.mutation(R + "create_post", {"title": "t", "owner": "system"})
