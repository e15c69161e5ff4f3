"""Full-text search through the real executor and Postgres: Convex's semantics (any term, the
last one as a prefix, ties newest first, languages), every terminal operation, bad input as
clear QueryErrors, the 1024-result cap, the declaration (registration checks, migrations, the
GIN index the planner uses), what the change log captures, and row-level rules.

Functions: tests/testapp/functions/search.py; tables `articles` and `memos` (tests/testapp).
Re-runs over the WebSocket: test_search_live.py; read-set soundness: test_search_soundness.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps.registry import Apps
from django.core.management import call_command
from django.db import connection, models

from reactive.db.tables import tables
from reactive.errors import ConfigurationError, QueryError
from reactive.models import now_ms
from reactive.search import SearchIndex
from reactive.search.text_index import text_digest
from reactive.search.text_query import compile_search
from reactive.search.text_sql import search_queryset
from reactive.testing import ReactiveClient
from tests.soundness_support import mutate, run_query
from tests.testapp.models import Article, Memo

pytestmark = pytest.mark.django_db(transaction=True)

S = "testapp/search:"
client = ReactiveClient()


@pytest.fixture(autouse=True)
def empty_tables() -> None:
    Article.objects.all().delete()
    Memo.objects.all().delete()


def add(*bodies: str, channel: str = "general", **fields: Any) -> list[str]:
    return [client.mutation(S + "add", {"body": b, "channel": channel, **fields}) for b in bodies]


def bodies(text: str, **args: Any) -> list[str]:
    return [d["body"] for d in client.query(S + "find", {"text": text, **args})]


# --- semantics ------------------------------------------------------------------------------


def test_any_term_matches_and_more_terms_rank_higher() -> None:
    add("red apple", "green apple pie", "red car", "blue sky")
    found = bodies("apple red", index="search_simple", limit=10)
    assert found[0] == "red apple"  # both terms
    assert set(found) == {"red apple", "green apple pie", "red car"}  # either term


@pytest.mark.parametrize("index", ["search_simple", "search_body"])
def test_words_with_combining_marks_are_found_whole(index: str) -> None:
    """Devanagari vowel signs, Arabic harakat and a decomposed accent are part of the word, as
    Postgres indexes it; a tokenizer cutting at them would never find these documents."""
    add("नमस्ते दुनिया", "مَرْحَبًا بالعالم", "un café noir")
    assert bodies("नमस्ते", index=index) == ["नमस्ते दुनिया"]
    assert bodies("مَرْحَبًا", index=index) == ["مَرْحَبًا بالعالم"]
    assert bodies("cafe\u0301 noir", index=index) == ["un café noir"]  # NFD text, NFC document


def test_only_the_last_term_is_a_prefix() -> None:
    add("typeahead search", "typewriter", "search engine")
    assert set(bodies("type", index="search_simple")) == {"typeahead search", "typewriter"}
    # "type" as a non-final term is an exact term: nothing matches "type"; "engine" does
    assert bodies("type engine", index="search_simple") == ["search engine"]


def test_ties_come_newest_first() -> None:
    add("same words", "same words", "same words")
    docs = client.query(S + "find", {"text": "same words", "how": "collect"})
    times = [d["_creationTime"] for d in docs]
    assert times == sorted(times, reverse=True) and len(docs) == 3


def test_english_stems_and_drops_stop_words_simple_does_not() -> None:
    add("the runners were running", "a run")
    assert set(bodies("run zzz")) == {"the runners were running", "a run"}  # english: stems
    assert bodies("run zzz", index="search_simple") == ["a run"]  # simple: no stemming
    assert bodies("the xyz") == []  # english: "the" is a stop word, "xyz" matches nothing
    assert bodies("the xyz", index="search_simple") == ["the runners were running"]


def test_case_and_punctuation_are_ignored() -> None:
    add("Hello, World!")
    assert bodies("HELLO") == ["Hello, World!"]
    assert bodies("...world???") == ["Hello, World!"]


def test_eq_filters_and_filter_after() -> None:
    add("cats and dogs", channel="a", author="ann", score=1)
    add("cats only", channel="a", author="bob", score=5)
    add("cats elsewhere", channel="b", author="ann", score=9)
    assert set(bodies("cats", eqs=[["channel", "a"]])) == {"cats and dogs", "cats only"}
    assert bodies("cats", eqs=[["channel", "a"], ["author", "ann"]]) == ["cats and dogs"]
    assert set(bodies("cats", min_score=5)) == {"cats only", "cats elsewhere"}
    assert bodies("cats", eqs=[["channel", "nowhere"]]) == []


def test_terminal_operations() -> None:
    add("one fish", "two fish", "red fish", "blue whale")
    assert len(bodies("fish", how="collect")) == 3
    assert len(bodies("fish", how="iterate")) == 3
    assert client.query(S + "find", {"text": "fish", "how": "first"})["body"] == "red fish"
    assert client.query(S + "find", {"text": "whale", "how": "unique"})["body"] == "blue whale"
    assert client.query(S + "find", {"text": "nothing", "how": "unique"}) is None
    with pytest.raises(QueryError, match="more than one"):
        client.query(S + "find", {"text": "fish", "how": "unique"})
    assert bodies("fish", limit=2) == ["red fish", "two fish"]


def test_pages_are_gapless_and_in_the_same_order_as_collect() -> None:
    add(*[f"word{i % 3} common filler {i}" for i in range(23)])
    everything = bodies("common word1", how="collect")
    seen: list[str] = []
    cursor = None
    while True:
        page = client.query(
            S + "page",
            {"text": "common word1", "paginationOpts": {"numItems": 5, "cursor": cursor}},
        )
        seen += [d["body"] for d in page["page"]]
        cursor = page["continueCursor"]
        if page["isDone"]:
            break
    assert seen == everything and len(seen) == 23


def test_a_cursor_of_another_search_is_refused() -> None:
    add("alpha beta")
    client.mutation(S + "add_memo", {"body": "alpha", "owner": "x", "public": True})
    client.mutation(S + "add_memo", {"body": "alpha two", "owner": "x", "public": True})
    other = client.query(
        S + "memos", {"text": "alpha", "paginationOpts": {"numItems": 1, "cursor": None}}
    )
    with pytest.raises(QueryError, match="InvalidCursor"):
        client.query(
            S + "page",
            {"text": "alpha", "paginationOpts": {"numItems": 1, "cursor": other["continueCursor"]}},
        )


def test_search_indexes_are_not_with_index_indexes() -> None:
    table = tables.get("articles")
    assert "articles_search_body" not in table.indexes and "search_body" not in table.indexes
    assert table.unusable_indexes() == []  # so no reactive.W007 warning about them
    assert set(table.search_indexes) == {
        "articles_search_body",
        "search_body",
        "articles_search_simple",
        "search_simple",
    }
    with pytest.raises(QueryError, match="has no index 'search_body'"):
        run_query(lambda ctx: ctx.db.query("articles").with_index("search_body").collect()).unwrap()


# --- bad input: a clear QueryError naming the index, never a 500 ----------------------------


@pytest.mark.parametrize("text", ["", "   \t\n ", "?!., ;:--", "'\"&|!():*\\", "\x00"])
def test_texts_without_terms_match_nothing(text: str) -> None:
    add("anything at all")
    assert bodies(text) == []


def test_operator_characters_and_nul_are_separators() -> None:
    add("rock and roll", "it's fine")
    assert bodies("rock&|!roll") == ["rock and roll"]
    assert bodies("roll\x00") == ["rock and roll"]
    assert bodies("it's") == []  # english: "it" and "s" are stop words
    assert bodies("it's", index="search_simple") == ["it's fine"]
    assert bodies("'); drop table testapp_article; --") == []
    assert Article.objects.count() == 2


def test_a_megabyte_of_text() -> None:
    add("a document")
    assert bodies("d" * 1_000_000) == []  # one term too long to be a term: dropped, as Convex
    with pytest.raises(QueryError, match=r"search_body.*more than 16 terms"):
        bodies("document " * 120_000)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"text": " ".join(f"w{i}" for i in range(17))}, "more than 16 terms"),
        ({"text": "x", "eqs": [["channel", "a"]] * 9}, "more than 8 eq"),
        ({"text": "x", "index": "nope"}, "table 'articles' has no search index 'nope'"),
        (
            {"text": "x", "eqs": [["score", 1]]},
            "eq('score', ...) names a field that is not a filter",
        ),
        ({"text": "x", "eqs": [["nope", 1]]}, "eq('nope', ...) names a field that is not a filter"),
        (
            {"text": "x", "field": "channel"},
            "search('channel', ...) names a field the index does not",
        ),
        ({"text": "x", "eqs": [["channel", "a\x00b"]]}, "NUL"),
        ({"text": "x", "how": "order"}, "order() cannot follow with_search_index"),
        ({"text": "x", "index": "search_simple", "eqs": [["channel", "a"]]}, "not a filter field"),
    ],
)
def test_bad_searches_are_query_errors(args: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError) as err:
        client.query(S + "find", args)
    assert message in str(err.value)
    assert "search_body" in str(err.value) or "search_simple" in str(err.value)


def test_bad_search_over_http_is_a_function_error_not_a_500() -> None:
    """Through the HTTP API the same errors are an error result (status 200, Convex's shape)."""
    from django.test import Client

    r = Client().post(
        "/api/query",
        {"path": S + "find", "args": {"text": " ".join(["w"] * 17)}},
        content_type="application/json",
    )
    assert r.status_code in (200, 400), r.status_code
    body = r.json()
    assert body["status"] == "error" and "more than 16 terms" in body["errorMessage"]


def test_a_search_must_come_first_and_have_a_search() -> None:
    with pytest.raises(QueryError, match="must come first"):
        run_query(
            lambda ctx: (
                ctx.db.query("articles")
                .filter(lambda q: q.eq(q.field("score"), 1))
                .with_search_index("search_body", lambda q: q.search("body", "x"))
                .collect()
            )
        ).unwrap()
    with pytest.raises(QueryError, match="needs q.search"):
        run_query(
            lambda ctx: (
                ctx.db.query("articles").with_search_index("search_body", lambda q: q).collect()
            )
        ).unwrap()
    with pytest.raises(QueryError, match="must come before eq"):
        run_query(
            lambda ctx: (
                ctx.db.query("articles")
                .with_search_index("search_body", lambda q: q.eq("channel", "a"))
                .collect()
            )
        ).unwrap()


def test_at_most_1024_documents_per_read() -> None:
    Article.objects.bulk_create(
        [Article(channel="big", body=f"needle {i}", creation_time=now_ms()) for i in range(1025)]
    )
    with pytest.raises(QueryError, match=r"search_body.*more than 1024 documents match"):
        bodies("needle", how="collect")
    assert len(bodies("needle", limit=1024)) == 1024
    with pytest.raises(QueryError, match="more than 1024 documents match"):
        bodies("needle", how="iterate")
    page = client.query(
        S + "page", {"text": "needle", "paginationOpts": {"numItems": 1000, "cursor": None}}
    )
    assert len(page["page"]) == 1000 and not page["isDone"]


# --- the declaration ------------------------------------------------------------------------


def test_makemigrations_sees_no_change() -> None:
    call_command("makemigrations", "testapp", "--check", "--dry-run", verbosity=0)


def _model(name: str, indexes: list[Any]) -> type[models.Model]:
    apps = Apps()
    meta = type("Meta", (), {"apps": apps, "app_label": "search_bad", "indexes": indexes})
    attrs = {
        "__module__": __name__,
        "Meta": meta,
        "creation_time": models.FloatField(default=now_ms),
        "body": models.TextField(),
        "count": models.IntegerField(default=0),
    }
    return type(name, (models.Model,), attrs)


@pytest.mark.parametrize(
    ("indexes", "message"),
    [
        ([SearchIndex(name="bad_s", search_field="count")], "search index 'bad_s'.*IntegerField"),
        ([SearchIndex(name="bad_s", search_field="nope")], "search index 'bad_s'.*'nope'"),
        (
            [SearchIndex(name="bad_s", search_field="body", filter_fields=["x"])],
            "search index 'bad_s': filter field 'x'",
        ),
        (
            [SearchIndex(name="bad_s", search_field="body", filter_fields=["count"] * 17)],
            "17 filter fields",
        ),
        ([SearchIndex(name=f"bad_{i}", search_field="body") for i in range(5)], "5 search indexes"),
    ],
)
def test_bad_declarations_fail_registration(indexes: list[Any], message: str) -> None:
    model = _model("BadSearch", indexes)
    with pytest.raises(ConfigurationError, match=f"table 'bad_search'.*{message}"):
        tables.register(model, "bad_search")
    assert tables.find("bad_search") is None


def test_the_planner_uses_the_gin_index_on_ten_thousand_rows() -> None:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    Article.objects.bulk_create(
        [
            Article(
                channel=f"c{i % 10}",
                body=" ".join(words[(i * k) % len(words)] + str(i % 97) for k in (1, 3, 5)),
                creation_time=now_ms(),
            )
            for i in range(10_000)
        ],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE testapp_article")
    table = tables.get("articles")
    search = compile_search(
        table, "search_body", lambda q: q.search("body", "alpha1 bravo").eq("channel", "c1")
    )
    plan = search_queryset(Article.objects.all(), search).order_by("-_search_rank").explain()
    assert "articles_search_body" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_the_change_log_captures_the_digest_and_the_filter_columns() -> None:
    written = mutate(
        lambda ctx: ctx.db.insert(
            "articles", {"body": "héllo wörld", "channel": "c", "author": "a"}
        )
    )
    [write] = written.captured
    assert write.new["body#md5"] == text_digest("héllo wörld")
    assert (write.new["channel"], write.new["author"]) == ("c", "a")
    assert "body" not in write.new  # never the text itself
    [own] = list(written.outcome.writes)
    assert {k: own.new[k] for k in write.new} == write.new  # the executor's write set agrees


# --- row-level rules ------------------------------------------------------------------------


def test_a_search_never_returns_a_row_the_read_rule_denies_and_pages_are_full() -> None:
    for i in range(6):
        client.mutation(S + "add_memo", {"body": f"secret plan {i}", "owner": "alice"})
        client.mutation(
            S + "add_memo", {"body": f"public plan {i}", "owner": "alice", "public": True}
        )
    anon = client.query(S + "memos", {"text": "plan"})
    assert len(anon) == 6 and all(d["public"] for d in anon)
    bob = ReactiveClient().with_identity("bob")
    alice = ReactiveClient().with_identity("alice")
    assert all(d["public"] for d in bob.query(S + "memos", {"text": "secret plan"}))
    assert (
        len(alice.query(S + "memos", {"text": "secret plan"})) == 12
    )  # "plan" rows too (any term)
    # a Q rule is part of the SQL: pages are full, not cut down after the read
    page = bob.query(
        S + "memos", {"text": "plan", "paginationOpts": {"numItems": 4, "cursor": None}}
    )
    assert len(page["page"]) == 4 and all(d["public"] for d in page["page"])
    rest = bob.query(
        S + "memos",
        {"text": "plan", "paginationOpts": {"numItems": 4, "cursor": page["continueCursor"]}},
    )
    assert len(rest["page"]) == 2 and rest["isDone"] and all(d["public"] for d in rest["page"])


def test_a_search_over_a_hidden_field_is_refused() -> None:
    client.mutation(S + "add_memo", {"body": "hidden words", "owner": "x", "public": True})
    nosy = ReactiveClient().with_identity("nosy")
    with pytest.raises(QueryError, match="field `body` of table 'memos' is hidden"):
        nosy.query(S + "memos", {"text": "hidden"})
    assert len(ReactiveClient().with_identity("other").query(S + "memos", {"text": "hidden"})) == 1


# --- budgets --------------------------------------------------------------------------------


def _search_apples(ctx: Any) -> Any:
    return ctx.db.query("articles").with_search_index(
        "search_body", lambda q: q.search("body", "apple")
    )


@pytest.mark.parametrize(
    ("limits", "body", "match"),
    [
        ({"documents_read": 3}, lambda ctx: _search_apples(ctx).collect(), "documents read"),
        ({"documents_read": 3}, lambda ctx: list(_search_apples(ctx)), "documents read"),
        (
            {"index_ranges": 2},
            lambda ctx: [_search_apples(ctx).first() for _ in range(3)],
            "index ranges",
        ),
    ],
)
def test_searches_are_charged_to_the_budget(limits: Any, body: Any, match: str) -> None:
    from django.test import override_settings

    from reactive.errors import LimitExceeded
    from tests.helpers import in_query

    add(*[f"apple {i}" for i in range(5)])
    assert len(in_query(body).unwrap()) in (3, 5)  # within the default budget
    with override_settings(REACTIVE={"LIMITS": limits}):
        out = in_query(body)
    assert isinstance(out.error, LimitExceeded) and match in out.error.message
