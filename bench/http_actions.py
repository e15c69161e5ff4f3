"""What an HTTP action costs over the HTTP API and over plain Django, on one server process.

The same read (`testapp/messages:latest`, the 10 newest messages) three ways, sequential
keep-alive requests interleaved one by one: `GET /hooks/latest`, an HTTP action that runs the
query with ``ctx.run_query`` (routing, the executor's action path, then the query's own
transaction); `POST /api/query` of the query itself; a plain Django view doing the ORM read.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import requests

from .overhead import QUERY, _plain
from .servers import Server, pct


def http_action_overhead(server: Server, n: int = 1000) -> dict[str, Any]:
    session = requests.Session()
    body = {"path": QUERY, "args": [{}], "format": "convex_encoded_json"}
    action: list[float] = []
    api: list[float] = []
    plain: list[float] = []
    for i in range(n + 50):
        t = time.perf_counter()
        r = session.get(server.url + "/hooks/latest")
        a = (time.perf_counter() - t) * 1000
        assert r.status_code == 200 and len(r.json()["value"]) == 10, r.text
        t = time.perf_counter()
        r = session.post(server.url + "/api/query", json=body)
        q = (time.perf_counter() - t) * 1000
        assert r.json()["status"] == "success"
        p = _plain(session, server)
        if i >= 50:  # after warm-up
            action.append(a)
            api.append(q)
            plain.append(p)
    return {
        "requests_each": n,
        "http_action_p50_ms": statistics.median(action),
        "http_action_p99_ms": pct(action, 99),
        "api_query_p50_ms": statistics.median(api),
        "plain_p50_ms": statistics.median(plain),
        "ratio_to_api_p50": statistics.median(action) / statistics.median(api),
        "ratio_to_plain_p50": statistics.median(action) / statistics.median(plain),
    }
