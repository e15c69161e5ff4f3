"""Vector search (reactive.search) through the real executor and Postgres with pgvector:
real sentence embeddings (tests/embeddings.py, offline), scores as Convex's, filters, every
bad input refused with the function and the field named, rules obeyed in queries and actions.
Functions: tests/testapp/functions/vectors.py. Live subscriptions: test_vector_live.py."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from reactive import internal
from reactive.errors import DocumentValidationError, QueryError
from reactive.testing import ReactiveClient
from tests.embeddings import DIMENSIONS, embed

pytestmark = pytest.mark.django_db(transaction=True)

V = "testapp/vectors:"

SENTENCES = {
    "cats": ("pets", "A cat sleeps on the warm windowsill"),
    "kittens": ("pets", "The kitten naps in a patch of sunlight"),
    "dogs": ("pets", "A dog chases a ball across the park"),
    "stocks": ("finance", "Stock markets fell sharply after the bank raised interest rates"),
    "bonds": ("finance", "Investors sold government bonds as inflation rose"),
    "rockets": ("space", "The rocket launched a satellite into orbit"),
    "planets": ("space", "Astronomers discovered a new planet orbiting a distant star"),
}

alice, bob = (ReactiveClient().with_identity(s) for s in ("alice", "bob"))
anon = ReactiveClient()


@pytest.fixture(autouse=True)
def empty_tables() -> None:
    from tests.testapp.models import Movie, Point

    Movie.objects.all().delete()
    Point.objects.all().delete()


@pytest.fixture
def movies() -> dict[str, str]:
    """Title → id of the seven sentences, embedded with the real model."""
    vectors = embed([text for _, text in SENTENCES.values()])
    return {
        title: anon.mutation(V + "add_movie", {"title": title, "genre": genre, "embedding": vector})
        for (title, (genre, _)), vector in zip(SENTENCES.items(), vectors, strict=True)
    }


def titles(hits: list[dict[str, Any]], movies: dict[str, str]) -> list[str]:
    by_id = {v: k for k, v in movies.items()}
    return [by_id[h["_id"]] for h in hits]


def test_semantically_close_sentences_rank_first(movies: dict[str, str]) -> None:
    (query,) = embed(["a sleepy kitty curled up in the sun"])
    hits = anon.query(V + "search_movies", {"vector": query, "limit": 7})
    ranked = titles(hits, movies)
    assert set(ranked[:2]) == {"cats", "kittens"}, ranked
    assert ranked.index("dogs") < ranked.index("stocks")
    scores = [h["_score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    (money,) = embed(["the economy and the price of shares on wall street"])
    ranked = titles(anon.query(V + "search_movies", {"vector": money, "limit": 2}), movies)
    assert set(ranked) == {"stocks", "bonds"}, ranked


def test_cosine_score_is_the_similarity_as_convex(movies: dict[str, str]) -> None:
    (query,) = embed(["rockets and planets"])
    hits = anon.query(V + "search_movies", {"vector": query, "limit": 7})
    stored = {t: anon.query(V + "get_movie", {"id": i})["embedding"] for t, i in movies.items()}
    for hit, title in zip(hits, titles(hits, movies), strict=True):
        vec = stored[title]
        cos = sum(a * b for a, b in zip(query, vec, strict=True)) / (
            math.sqrt(sum(a * a for a in query)) * math.sqrt(sum(b * b for b in vec))
        )
        assert hit["_score"] == pytest.approx(cos, abs=1e-5)
    # the document's vector comes back as a list of floats of the field's size
    assert all(isinstance(x, float) for x in stored["cats"]) and len(stored["cats"]) == DIMENSIONS


def test_a_filter_keeps_only_matching_rows(movies: dict[str, str]) -> None:
    (query,) = embed(["a cat"])
    hits = anon.query(V + "search_movies", {"vector": query, "where": [["genre", "space"]]})
    assert set(titles(hits, movies)) == {"rockets", "planets"}
    hits = anon.query(
        V + "search_movies",
        {"vector": query, "where": [["genre", "space"], ["genre", "finance"]], "limit": 3},
    )
    assert set(titles(hits, movies)) <= {"rockets", "planets", "stocks", "bonds"}
    assert len(hits) == 3
    hits = anon.query(V + "search_movies", {"vector": query, "where": [["genre", "none"]]})
    assert hits == []


def test_limit_cuts_the_result(movies: dict[str, str]) -> None:
    (query,) = embed(["a cat"])
    assert len(anon.query(V + "search_movies", {"vector": query, "limit": 1})) == 1
    assert len(anon.query(V + "search_movies", {"vector": query, "limit": 256})) == 7
    assert len(anon.query(V + "search_movies", {"vector": query})) == 7  # default 10


def test_a_filtered_search_over_many_rows_is_complete() -> None:
    """HNSW returns at most ef_search rows before filtering: a selective filter over many rows
    would come back short; the search then scans exactly and returns all of them."""
    rng = random.Random(7)
    from tests.testapp.models import Movie

    rows = []
    for i in range(600):
        vec = [rng.gauss(0, 1) for _ in range(DIMENSIONS)]
        rows.append(Movie(title=f"m{i}", genre="rare" if i % 100 == 0 else "common", embedding=vec))
    Movie.objects.bulk_create(rows)
    query = [rng.gauss(0, 1) for _ in range(DIMENSIONS)]
    hits = anon.query(V + "search_movies", {"vector": query, "where": [["genre", "rare"]]})
    assert len(hits) == 6
    assert len(anon.query(V + "search_movies", {"vector": query, "limit": 50})) == 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"vector": [0.1] * 3}, "`vector` has 3 numbers; index 'by_embedding' holds 256"),
        ({"vector": [0.1] * 255 + ["x"]}, "`vector`[255] is str, not a number"),
        ({"vector": [0.1] * 255 + [True]}, "`vector`[255] is bool, not a number"),
        ({"vector": "0.1"}, "`vector` must be a list of numbers"),
        ({"vector": [0.1] * DIMENSIONS, "limit": 0}, "`limit` must be an integer from 1 to 256"),
        ({"vector": [0.1] * DIMENSIONS, "limit": 257}, "`limit` must be an integer from 1 to 256"),
        ({"vector": [0.1] * DIMENSIONS, "limit": 2.5}, "`limit` must be an integer"),
        ({"vector": [0.1] * DIMENSIONS, "index": "nope"}, "has no vector index 'nope'"),
        ({"vector": [0.1] * DIMENSIONS, "table": "nope"}, "no table is registered as 'nope'"),
        (
            {"vector": [0.1] * DIMENSIONS, "where": [["title", "x"]]},
            "filter field 'title' is not declared in the index's filter_fields",
        ),
        (
            {"vector": [0.1] * DIMENSIONS, "where": [["genre", ["x"]]]},
            "filter on `genre`",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_function_and_the_field(
    args: dict[str, Any], message: str
) -> None:
    outcome = anon.call(V + "search_movies", args)
    assert isinstance(outcome.error, QueryError), outcome.error
    assert "testapp/vectors:search_movies: ctx.vector_search(" in str(outcome.error)
    assert message in str(outcome.error)


def test_nan_and_infinity_are_refused() -> None:
    """Convex's wire format carries NaN and infinity (as `$float`); the search refuses them."""
    for bad in (math.nan, math.inf, -math.inf):
        vector = [0.0, 0.1, bad] + [0.0] * (DIMENSIONS - 3)
        outcome = anon.call(V + "search_movies", {"vector": vector})
        assert isinstance(outcome.error, QueryError), outcome.error
        assert str(outcome.error).startswith("testapp/vectors:search_movies: ctx.vector_search(")
        assert "`vector`[2] is" in str(outcome.error) and "finite numbers" in str(outcome.error)


def test_numbers_beyond_32_bit_floats_are_refused_not_a_server_error() -> None:
    """pgvector stores 32-bit floats: 1e39 is finite in JSON and infinite in the column."""
    for huge in (1e39, -1e300, 10**400):
        vector = [0.0, huge] + [0.0] * (DIMENSIONS - 2)
        outcome = anon.call(V + "search_movies", {"vector": vector})
        assert isinstance(outcome.error, QueryError), outcome.error
        assert "`vector`[1] is" in str(outcome.error) and "32-bit float" in str(outcome.error)
    outcome = anon.call(V + "add_movie", {"title": "t", "genre": "g", "embedding": [1e39] * 256})
    assert isinstance(outcome.error, DocumentValidationError), outcome.error
    assert "field `embedding` of table 'movies'" in str(outcome.error)
    assert "too large for a 32-bit float" in str(outcome.error)


def test_a_zero_vector_has_no_cosine_direction() -> None:
    outcome = anon.call(V + "search_movies", {"vector": [0.0] * DIMENSIONS})
    assert isinstance(outcome.error, QueryError), outcome.error
    assert "all zeros" in str(outcome.error)


def test_rows_hidden_by_a_rule_do_not_crowd_out_the_visible_ones() -> None:
    """2,000 drafts of another owner, all nearer than the one public row: the rule's Q is in
    the search's SQL, so the caller gets the public row at once (it used to read every hidden
    candidate and run out of time)."""
    from tests.testapp.models import Movie

    def vec(x: float, y: float) -> list[float]:
        return [x, y] + [0.0] * (DIMENSIONS - 2)

    Movie.objects.bulk_create(
        Movie(title=f"d{i}", genre="g", owner="bob", draft=True, embedding=vec(1, i / 10000))
        for i in range(2000)
    )
    public = anon.mutation(V + "add_movie", {"title": "p", "genre": "g", "embedding": vec(0, 1)})
    for fn in ("search_movies", "similar_movies"):
        call = anon.query if fn == "search_movies" else anon.action
        hits = call(V + fn, {"vector": vec(1, 0), "limit": 10, "where": [["genre", "g"]]})
        assert [h["_id"] for h in hits] == [public], fn
    # the owner sees the drafts first
    hits = bob.query(V + "search_movies", {"vector": vec(1, 0), "limit": 3})
    assert len(hits) == 3 and public not in [h["_id"] for h in hits]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("gt", "has only q.eq(field, value) and q.or_(...), not q.gt"),
        ("not_a_clause", "filter must return q.eq(...) or q.or_(...), not tuple"),
        ("empty_or", "q.or_() needs at least one q.eq(...)"),
        ("not_callable", "filter must be a function of q"),
    ],
)
def test_filters_other_than_eq_and_or_are_refused(kind: str, message: str) -> None:
    outcome = anon.call(V + "search_with_filter", {"vector": [0.1] * DIMENSIONS, "kind": kind})
    assert isinstance(outcome.error, QueryError) and message in str(outcome.error)


def test_bad_vectors_are_refused_on_insert_and_patch(movies: dict[str, str]) -> None:
    outcome = anon.call(V + "add_movie", {"title": "t", "genre": "g", "embedding": [0.1] * 3})
    assert isinstance(outcome.error, DocumentValidationError), outcome.error
    assert "field `embedding` of table 'movies'" in str(outcome.error)
    assert "expected 256 numbers, got 3" in str(outcome.error)
    for bad, message in (
        ("x", "expected a list of numbers, not str"),
        ([0.1] * 255 + ["x"], "expected a list of numbers"),
        ([0.1] * 255 + [False], "expected a list of numbers"),
        ({"a": 1}, "expected a list of numbers, not dict"),
    ):
        outcome = anon.call(V + "patch_movie", {"id": movies["cats"], "fields": {"embedding": bad}})
        assert isinstance(outcome.error, DocumentValidationError), outcome.error
        assert "field `embedding` of table 'movies'" in str(outcome.error)
        assert message in str(outcome.error)
    # nothing half-written: the row keeps its vector
    (cats,) = embed([SENTENCES["cats"][1]])
    stored = anon.query(V + "get_movie", {"id": movies["cats"]})["embedding"]
    assert stored == pytest.approx(cats, abs=1e-6)


def test_nan_in_a_written_vector_is_refused() -> None:
    from reactive.db.documents import column_value
    from reactive.db.tables import tables

    for bad in (math.nan, math.inf):
        with pytest.raises(DocumentValidationError, match="finite numbers only"):
            column_value(tables.get("movies"), "embedding", [bad] + [0.0] * 255)


def test_a_patched_vector_moves_the_row(movies: dict[str, str]) -> None:
    (space,) = embed(["the rocket launched a satellite into orbit"])
    anon.mutation(V + "patch_movie", {"id": movies["cats"], "fields": {"embedding": space}})
    hits = anon.query(V + "search_movies", {"vector": space, "limit": 1})
    assert titles(hits, movies) == ["cats"] and hits[0]["_score"] == pytest.approx(1.0, abs=1e-5)
    assert anon.query(V + "get_movie", {"id": movies["cats"]})["embedding"] == pytest.approx(space)
    # a row without a vector is never a result
    anon.mutation(V + "patch_movie", {"id": movies["cats"], "fields": {"embedding": None}})
    assert "cats" not in titles(anon.query(V + "search_movies", {"vector": space}), movies)


def test_l2_and_inner_product_scores() -> None:
    for vec, tag in (([1, 0, 0], "a"), ([0, 2, 0], "b"), ([3, 3, 0], "a")):
        anon.mutation(V + "add_point", {"vec": vec, "tag": tag})
    q = [1.0, 1.0, 0.0]
    l2 = anon.query(V + "search_points", {"index": "by_l2", "vector": q})
    assert [h["_score"] for h in l2] == pytest.approx([-1.0, -math.sqrt(2), -math.sqrt(8)])
    ip = anon.query(V + "search_points", {"index": "by_ip", "vector": q})
    assert [h["_score"] for h in ip] == pytest.approx([6.0, 2.0, 1.0])
    cos = anon.query(V + "search_points", {"index": "by_cosine", "vector": q})
    assert [h["_score"] for h in cos] == pytest.approx([1.0, math.sqrt(0.5), math.sqrt(0.5)])
    tagged = anon.query(V + "search_points", {"index": "by_l2", "vector": q, "tag": "a"})
    assert [h["_score"] for h in tagged] == pytest.approx([-1.0, -math.sqrt(8)])


# --- actions -----------------------------------------------------------------------------------


def test_an_action_searches_in_its_own_snapshot(movies: dict[str, str]) -> None:
    (query,) = embed(["a sleepy kitty curled up in the sun"])
    hits = anon.action(V + "similar_movies", {"vector": query, "limit": 2})
    assert set(titles(hits, movies)) == {"cats", "kittens"}
    assert hits == anon.query(V + "search_movies", {"vector": query, "limit": 2})
    hits = anon.action(V + "similar_movies_async", {"vector": query, "limit": 2})
    assert set(titles(hits, movies)) == {"cats", "kittens"}


def test_an_action_gets_the_same_clear_errors() -> None:
    outcome = anon.call(V + "search_anything", {"vector": [0.1] * DIMENSIONS, "limit": 0})
    assert isinstance(outcome.error, QueryError)
    assert str(outcome.error).startswith("testapp/vectors:search_anything: ctx.vector_search(")
    outcome = anon.call(V + "search_anything", {"vector": [1, 2]})
    assert "`vector` has 2 numbers" in str(outcome.error)


# --- rules (tests/testapp/rules.py: a draft is seen by its owner only) -------------------------


@pytest.fixture
def drafts(movies: dict[str, str]) -> dict[str, str]:
    """alice's and bob's draft movies, embedded as the closest match to a cat query."""
    (near,) = embed(["A cat sleeps on the warm windowsill"])
    made = {}
    for owner in ("alice", "bob"):
        for n in range(3):
            made[f"{owner}{n}"] = anon.mutation(
                V + "add_movie",
                {
                    "title": f"{owner}{n}",
                    "genre": "pets",
                    "owner": owner,
                    "draft": True,
                    "embedding": [x + 0.001 * n for x in near],
                },
            )
    return made


def test_rules_hide_rows_from_a_query_search(
    movies: dict[str, str], drafts: dict[str, str]
) -> None:
    (query,) = embed(["A cat sleeps on the warm windowsill"])
    everything = {**movies, **drafts}
    seen = titles(alice.query(V + "search_movies", {"vector": query, "limit": 5}), everything)
    assert not any(t.startswith("bob") for t in seen), seen
    assert {"alice0", "alice1", "alice2"} <= set(seen)
    assert len(seen) == 5  # the hidden rows are replaced by the next readable ones
    seen = titles(anon.query(V + "search_movies", {"vector": query, "limit": 3}), everything)
    assert not any(t.startswith(("alice", "bob")) for t in seen) and len(seen) == 3
    # a filter naming the other owner finds nothing readable
    hits = alice.query(V + "search_movies", {"vector": query, "where": [["owner", "bob"]]})
    assert hits == []


def test_rules_hide_rows_from_an_action_search(
    movies: dict[str, str], drafts: dict[str, str]
) -> None:
    (query,) = embed(["A cat sleeps on the warm windowsill"])
    everything = {**movies, **drafts}
    seen = titles(bob.action(V + "similar_movies", {"vector": query, "limit": 10}), everything)
    assert not any(t.startswith("alice") for t in seen), seen
    assert {"bob0", "bob1", "bob2"} <= set(seen)
    # an internal action is trusted server code, as an internal query: it sees every row
    server = ReactiveClient()
    seen = titles(
        server.action(internal.testapp.vectors.similar_movies_internal, {"vector": query}),
        everything,
    )
    assert {"alice0", "bob0"} <= set(seen)


def test_a_filter_on_a_hidden_field_is_refused(
    movies: dict[str, str], drafts: dict[str, str]
) -> None:
    """The rules hide `owner` from anonymous callers: which rows a filter on it keeps would
    reveal it."""
    (query,) = embed(["A cat sleeps on the warm windowsill"])
    outcome = anon.call(V + "search_movies", {"vector": query, "where": [["owner", "bob"]]})
    assert isinstance(outcome.error, QueryError)
    assert "field `owner` is hidden from this caller" in str(outcome.error)
    assert len(bob.query(V + "search_movies", {"vector": query, "where": [["owner", "bob"]]})) == 3


def test_a_table_without_rules_is_searched_without_reading_rows() -> None:
    """`points` has no rules: the search reads no row by id, so its reads are the search
    alone (the rules' reader says the caller may read the whole table)."""
    anon.mutation(V + "add_point", {"vec": [1, 0, 0]})
    outcome = anon.call(V + "search_points", {"index": "by_l2", "vector": [1, 0, 0]})
    assert outcome.error is None and len(outcome.value) == 1
    assert [type(r).__name__ for r in outcome.reads.reads] == ["VectorRead"]
    outcome = alice.call(V + "search_movies", {"vector": [0.1] * DIMENSIONS})
    assert {type(r).__name__ for r in outcome.reads.reads} == {"VectorRead"}  # no row: no get


def test_the_embedding_model_loads_without_a_network(tmp_path) -> None:
    """tests/embeddings.py reads the model from its wheel: in a process with no network
    (a network namespace of its own) and an empty home (no cache), it still embeds."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"], check=False).returncode:
        pytest.skip("no network namespace can be made here (unshare -n needs root)")
    root = Path(__file__).resolve().parents[2]
    code = "from tests.embeddings import embed; print(len(embed(['a cat on a mat'])[0]))"
    done = subprocess.run(
        [unshare, "-n", sys.executable, "-c", code],
        cwd=root,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(DIMENSIONS)
