"""Full-text search latency: a search through the executor against the same SQL run raw.

`articles` (tests/testapp) holds 10,000 and then 100,000 generated documents: 8 to 30 words
each, drawn from a 5,000-word vocabulary with Zipf-like frequencies (deterministic: seeded), so
a few words are in most documents and most words in few. Queries are 2 or 3 words of middling
frequency; a third of them end with a 3-letter prefix (typeahead). Each query is
``testapp/search:find`` (``take(10)``, relevance order) through `execute()` in this process,
and its SQL alone (the queryset's SQL, same parameters) on the same connection, the two
interleaved query by query. Rows are loaded with COPY (triggers off: the change log is not what
is measured) and ANALYZEd.

- ``docs_<n>_executor_p50_ms`` / ``_p99_ms``: the whole function call;
- ``docs_<n>_raw_p50_ms`` / ``_p99_ms``: the SQL alone;
- ``docs_<n>_prefix_executor_p50_ms``: the typeahead queries only;
- ``docs_<n>_gin_index_used``: 1 if EXPLAIN of a query's SQL names the GIN index.

    python -m bench.run search
"""

from __future__ import annotations

import io
import random
import statistics
import time
from typing import Any

SIZES = (10_000, 100_000)
VOCABULARY = 5_000
QUERIES = 60
ROUNDS = 3
SEED = 14


def _words() -> list[str]:
    rng = random.Random(SEED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 9))))
    return sorted(words)


def _zipf_weights() -> list[float]:
    return [1.0 / (rank + 1) for rank in range(VOCABULARY)]


def _load(start: int, count: int, words: list[str]) -> None:
    """Rows ``start`` .. ``start + count`` of the corpus, by COPY, triggers off."""
    from django.db import connection

    rng = random.Random(SEED + start)
    weights = _zipf_weights()
    buffer = io.StringIO()
    for i in range(start, start + count):
        body = " ".join(rng.choices(words, weights, k=rng.randint(8, 30)))
        buffer.write(f"{1.7e12 + i}\tbench\tauthor{i % 13}\t{body}\t{i % 100}\n")
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no capture triggers
        with cursor.copy(
            "COPY testapp_article (creation_time, channel, author, body, score) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE testapp_article")


def _queries(words: list[str]) -> list[str]:
    rng = random.Random(SEED * 7)
    middling = words[50:1500]  # by Zipf rank: neither stop-word-like nor unseen
    out = []
    for i in range(QUERIES):
        terms = rng.sample(middling, rng.choice((2, 3)))
        if i % 3 == 0:
            terms[-1] = terms[-1][:3]  # a typeahead prefix
        out.append(" ".join(terms))
    return out


def _raw_sql(text: str) -> tuple[str, tuple[Any, ...]]:
    from reactive.db.tables import tables
    from reactive.search.text_query import compile_search
    from reactive.search.text_sql import search_index, search_queryset
    from tests.testapp.models import Article

    table = tables.get("articles")
    search = compile_search(table, "search_body", lambda q: q.search("body", text))
    order = ("-" + c for c in search_index(table, search).key_columns)
    qs = search_queryset(Article.objects.all(), search).order_by(*order)[:10]
    sql, params = qs.query.sql_with_params()
    return sql, tuple(params)


def _measure(queries: list[str]) -> dict[str, list[float]]:
    from django.db import connection

    from reactive.functions.executor import execute

    times: dict[str, list[float]] = {"executor": [], "raw": [], "prefix": []}
    for _ in range(ROUNDS):
        for i, text in enumerate(queries):
            t = time.perf_counter()
            execute("testapp/search:find", {"text": text, "limit": 10}).unwrap()
            elapsed = (time.perf_counter() - t) * 1e3
            times["executor"].append(elapsed)
            if i % 3 == 0:
                times["prefix"].append(elapsed)
            sql, params = _raw_sql(text)
            t = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()
            times["raw"].append((time.perf_counter() - t) * 1e3)
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def search_latency() -> dict[str, Any]:
    from django.db import connection

    words = _words()
    queries = _queries(words)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE testapp_article")
    out: dict[str, Any] = {"queries": len(queries), "rounds": ROUNDS}
    loaded = 0
    for size in SIZES:
        _load(loaded, size - loaded, words)
        loaded = size
        times = _measure(queries)
        sql, params = _raw_sql(queries[1])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        out[f"docs_{size}_executor_p50_ms"] = statistics.median(times["executor"])
        out[f"docs_{size}_executor_p99_ms"] = _p(times["executor"], 0.99)
        out[f"docs_{size}_raw_p50_ms"] = statistics.median(times["raw"])
        out[f"docs_{size}_raw_p99_ms"] = _p(times["raw"], 0.99)
        out[f"docs_{size}_prefix_executor_p50_ms"] = statistics.median(times["prefix"])
        out[f"docs_{size}_gin_index_used"] = int("articles_search_body" in plan)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE testapp_article")
    return out


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from bench.servers import setup_database

    setup_database(os.environ.get("REACTIVE_BENCH_DB", "reactive_bench_search"))
    for key, value in search_latency().items():
        print(f"{key:<36} {value:>12.3f}" if isinstance(value, float) else f"{key:<36} {value:>12}")
