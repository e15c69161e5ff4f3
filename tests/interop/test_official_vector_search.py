"""The official clients call an action that runs a vector search (Convex's
``ctx.vectorSearch`` pattern) and get ids and scores: the npm `convex` ConvexHttpClient and the
PyPI `convex` client, on a live server, with real embeddings (tests/embeddings.py)."""

from __future__ import annotations

import json
import uuid

import pytest
from convex.http_client import ConvexHttpClient

from tests.embeddings import embed
from tests.interop.node import run_node

pytestmark = [pytest.mark.interop, pytest.mark.django_db]

V = "testapp/vectors:"


@pytest.fixture
def seeded(asgi_server) -> tuple[str, dict[str, str], list[float]]:
    """A genre of its own with three movies; the query vector of a sleepy cat."""
    genre = f"interop-{uuid.uuid4().hex[:10]}"
    convex = ConvexHttpClient(asgi_server.url)
    texts = {
        "cat": "A cat sleeps on the warm windowsill",
        "kitten": "The kitten naps in a patch of sunlight",
        "stocks": "Stock markets fell sharply after the bank raised interest rates",
    }
    vectors = embed([*texts.values(), "a sleepy kitty curled up in the sun"])
    ids = {
        title: convex.mutation(
            V + "add_movie", {"title": title, "genre": genre, "embedding": vector}
        )
        for title, vector in zip(texts, vectors, strict=False)
    }
    return genre, ids, vectors[-1]


def _check(hits: list[dict[str, object]], ids: dict[str, str]) -> None:
    assert [sorted(h) for h in hits] == [["_id", "_score"]] * 2
    assert {h["_id"] for h in hits} == {ids["cat"], ids["kitten"]}
    scores = [float(h["_score"]) for h in hits]  # type: ignore[arg-type]
    assert scores == sorted(scores, reverse=True) and all(0.0 < s <= 1.0 for s in scores)


def test_the_npm_client_calls_a_vector_search_action(asgi_server, seeded) -> None:
    genre, ids, query = seeded
    result = run_node("vector_client.mjs", asgi_server.url, json.dumps(query), genre)
    assert result.get("ok") is True, result
    _check(result["hits"], ids)


def test_the_python_client_calls_a_vector_search_action(asgi_server, seeded) -> None:
    genre, ids, query = seeded
    convex = ConvexHttpClient(asgi_server.url)
    hits = convex.action(
        V + "similar_movies", {"vector": query, "limit": 2, "where": [["genre", genre]]}
    )
    _check(hits, ids)
    # the same search as a query gives the same ids and scores
    assert hits == convex.query(
        V + "search_movies", {"vector": query, "limit": 2, "where": [["genre", genre]]}
    )
