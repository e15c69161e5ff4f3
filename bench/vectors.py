"""Vector search (`ctx.vector_search`, pgvector HNSW): latency, and recall@10 against exact
search.

10,000 rows of `movies` (tests/testapp/models.py: a 256-dimensional cosine index filtered by
genre), holding real embeddings (tests/embeddings.py, WordLlama's bundled model) of synthetic
sentences: eight words drawn at random from the model's own vocabulary (no corpus of 10,000
sentences is at hand offline). Queries are fresh sentences drawn the same way. ``DATA=random``
in the environment uses Gaussian unit vectors instead (no structure at all: the hardest case
for an approximate index). Every search runs through `execute()` in this process, the modes
interleaved query by query:

- ``internal_*``: an internal query (no rules): the search alone;
- ``rules_*``: a public query as an anonymous caller, under tests/testapp/rules.py's read filter
  (every candidate is read through the rules' reader: ten one-row reads more);
- ``filtered_*``: the internal query with a filter keeping one genre of ten (10% of the rows):
  HNSW returns at most ``hnsw.ef_search`` rows before filtering, so such a search comes back
  short and runs again exactly;
- ``exact_*``: the same search in SQL with index scans disabled (a sequential scan ordered by
  distance): the reference for recall, and its cost;
- ``recall_at_10``: mean share of the exact top ten that the HNSW search returned;
- ``ef_<n>_recall_at_10`` / ``ef_<n>_sql_p50_ms``: the same in bare SQL with pgvector's
  ``hnsw.ef_search`` set to n (`vector_query` uses 100, or four times the rows it asks for):
  what a wider search would buy.

    python -m bench.vectors          # standalone: its own database (REACTIVE_BENCH_DB to change)
"""

from __future__ import annotations

import math
import os
import random
import statistics
import time
from typing import Any

ROWS = 10_000
DIMS = 256
GENRES = 10
QUERIES = 200
K = 10
SEED = 14


DATA = os.environ.get("DATA", "sentences")
EF_SEARCH = (40, 100, 200, 400)


def _unit(rng: random.Random) -> list[float]:
    v = [rng.gauss(0.0, 1.0) for _ in range(DIMS)]
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def _vectors(rng: random.Random, count: int) -> list[list[float]]:
    if DATA == "random":
        return [_unit(rng) for _ in range(count)]
    from tests.embeddings import embed, model

    vocab = sorted(
        w[1:] for w in model().tokenizer.get_vocab() if w.startswith("\u2581") and w[1:].isalpha()
    )
    words = [w for w in vocab if len(w) >= 4]
    return embed([" ".join(rng.choice(words) for _ in range(8)) for _ in range(count)])


def _seed() -> float:
    """The rows, once per database; returns the seconds it took (0 when already there)."""
    from tests.testapp.models import Movie

    prefix = f"bench-{DATA}-"
    if Movie.objects.filter(title__startswith=prefix).count() == ROWS:
        return 0.0
    t = time.perf_counter()
    Movie.objects.all().delete()
    vectors = _vectors(random.Random(SEED), ROWS)
    for start in range(0, ROWS, 1000):
        Movie.objects.bulk_create(
            Movie(title=f"{prefix}{i}", genre=f"g{i % GENRES}", embedding=vectors[i])
            for i in range(start, start + 1000)
        )
    return time.perf_counter() - t


def _sql_search(vector: list[float], ef_search: int) -> tuple[list[str], float]:
    """The HNSW search in bare SQL at ``ef_search``: (ids, milliseconds)."""
    from django.db import connection, transaction

    from reactive import ids

    text = "[" + ",".join(repr(x) for x in vector) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
        t = time.perf_counter()
        cursor.execute(
            "SELECT id FROM testapp_movie WHERE embedding IS NOT NULL "
            "ORDER BY embedding <=> %s::vector LIMIT %s",
            [text, K],
        )
        found = [ids.encode_id("movies", pk) for (pk,) in cursor.fetchall()]
        return found, (time.perf_counter() - t) * 1e3


def _exact(vector: list[float], genre: str | None = None) -> list[str]:
    from django.db import connection, transaction

    from reactive import ids

    text = "[" + ",".join(repr(x) for x in vector) + "]"
    where, params = "embedding IS NOT NULL", [text]
    if genre is not None:
        where += " AND genre = %s"
        params = [genre, text]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(
            f"SELECT id FROM testapp_movie WHERE {where} "
            "ORDER BY embedding <=> %s::vector LIMIT %s",
            [*params, K],
        )
        return [ids.encode_id("movies", pk) for (pk,) in cursor.fetchall()]


def _uses_hnsw(vector: list[float]) -> bool:
    from django.db import connection

    text = "[" + ",".join(repr(x) for x in vector) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM testapp_movie WHERE embedding IS NOT NULL "
            "ORDER BY embedding <=> %s::vector LIMIT 10",
            [text],
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    return "movies_by_embedding" in plan


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def vector_search(queries: int = QUERIES) -> dict[str, Any]:
    from reactive import internal
    from reactive.functions.executor import execute

    seeded_s = _seed()
    rng = random.Random(SEED + 1)
    vectors = _vectors(rng, queries)
    ref = internal.testapp.vectors.search_movies_internal

    def internal_search(v: list[float], genre: str | None = None) -> list[str]:
        args: dict[str, Any] = {"vector": v, "limit": K}
        if genre is not None:
            args["genre"] = genre
        return [h["_id"] for h in execute(ref, args).unwrap()]

    def rules_search(v: list[float]) -> list[str]:
        hits = execute("testapp/vectors:search_movies", {"vector": v, "limit": K}).unwrap()
        return [h["_id"] for h in hits]

    for v in vectors[:10]:  # warm up: connection, caches, the index's pages
        internal_search(v), rules_search(v), _exact(v)
    times: dict[str, list[float]] = {m: [] for m in ("internal", "rules", "filtered", "exact")}
    recall, filtered_recall, rules_same = [], [], 0
    ef_recall: dict[int, list[float]] = {ef: [] for ef in EF_SEARCH}
    ef_times: dict[int, list[float]] = {ef: [] for ef in EF_SEARCH}
    for i, v in enumerate(vectors):
        genre = f"g{i % GENRES}"
        modes = ["internal", "rules", "filtered", "exact"]
        got: dict[str, list[str]] = {}
        for mode in modes if i % 2 == 0 else modes[::-1]:
            t = time.perf_counter()
            if mode == "internal":
                got[mode] = internal_search(v)
            elif mode == "rules":
                got[mode] = rules_search(v)
            elif mode == "filtered":
                got[mode] = internal_search(v, genre)
            else:
                got[mode] = _exact(v)
            times[mode].append((time.perf_counter() - t) * 1e3)
        recall.append(len(set(got["internal"]) & set(got["exact"])) / K)
        filtered_recall.append(len(set(got["filtered"]) & set(_exact(v, genre))) / K)
        rules_same += got["rules"] == got["internal"]
        for ef in EF_SEARCH:
            found, ms = _sql_search(v, ef)
            ef_recall[ef].append(len(set(found) & set(got["exact"])) / K)
            ef_times[ef].append(ms)
    out: dict[str, Any] = {
        "rows": ROWS,
        "data": DATA,
        "dimensions": DIMS,
        "queries": queries,
        "seed_s": seeded_s,
        "uses_hnsw": _uses_hnsw(vectors[0]),
        "recall_at_10": statistics.mean(recall),
        "filtered_recall_at_10": statistics.mean(filtered_recall),
        "rules_same_result_share": rules_same / queries,
    }
    for mode, values in times.items():
        out[f"{mode}_p50_ms"] = _pct(values, 0.5)
        out[f"{mode}_p99_ms"] = _pct(values, 0.99)
    out["exact_over_internal_p50"] = out["exact_p50_ms"] / out["internal_p50_ms"]
    for ef in EF_SEARCH:
        out[f"ef_{ef}_recall_at_10"] = statistics.mean(ef_recall[ef])
        out[f"ef_{ef}_sql_p50_ms"] = _pct(ef_times[ef], 0.5)
    return out


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from bench.servers import setup_database

    setup_database(os.environ.get("REACTIVE_BENCH_DB", "reactive_bench_vectors"))
    for key, value in vector_search().items():
        print(f"{key:<28} {value:>12.3f}" if isinstance(value, float) else f"{key:<28} {value:>12}")
