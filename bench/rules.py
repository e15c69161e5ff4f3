"""What a row-level read rule costs on a paginated query: a rule pushed into the SQL (a Django
``Q``) against the same rule in Python (checked on each row after the read).

10,000 diaries, 10% of them the reader's own; the rule is "owner is the caller" either way
(`testapp/rules:bench_page`, which wraps ``ctx.db`` with `reactive.rules.wrap_db` and counts the
rows each page read below the rules). The reader walks every page of 100 in the index's order,
through `execute()` in this process, once per mode, modes interleaved over several rounds:

- ``*_ms_per_page``: median time of one page; ``*_rows_read_per_page``: rows the database
  returned per page; ``*_visible_per_page``: rows the caller got;
- ``*_pages`` and ``*_ms_total``: pages and time to read all 1,000 visible rows;
- ``none_*``: the same pages with no rules (every row visible), the floor.

    python -m bench.rules          # standalone: its own database (REACTIVE_BENCH_DB to change)
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

ROWS = 10_000
VISIBLE_EVERY = 10  # 10% of rows are the reader's
PAGE = 100
READER = "bench-reader"


def _seed() -> None:
    from tests.testapp.models import Diary

    mine = Diary.objects.filter(owner=READER).count()
    total = Diary.objects.filter(owner__startswith="bench-").count()
    if mine == ROWS // VISIBLE_EVERY and total == ROWS:
        return
    Diary.objects.filter(owner__startswith="bench-").delete()
    Diary.objects.bulk_create(
        Diary(
            owner=READER if i % VISIBLE_EVERY == 0 else f"bench-other{i % 7}",
            body=f"entry {i}",
            score=1_000_000 + i,
        )
        for i in range(ROWS)
    )


def _walk(mode: str, identity: Any) -> dict[str, Any]:
    """Every page of the diaries for ``mode``; per-page times and counts."""
    from reactive.functions.executor import execute

    times: list[float] = []
    rows: list[int] = []
    visible: list[int] = []
    cursor = None
    while True:
        t = time.perf_counter()
        page = execute(
            "testapp/rules:bench_page",
            {"mode": mode, "paginationOpts": {"numItems": PAGE, "cursor": cursor}},
            identity=identity,
        ).unwrap()
        times.append((time.perf_counter() - t) * 1e3)
        rows.append(page["rowsRead"])
        visible.append(sum(1 for d in page["page"] if d["owner"] == READER))
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    return {"times": times, "rows": rows, "visible": visible}


def rules_cost(rounds: int = 3) -> dict[str, Any]:
    from reactive.auth import Identity

    _seed()
    identity = Identity(subject=READER, issuer="bench")
    walks: dict[str, list[dict[str, Any]]] = {"q": [], "python": [], "none": []}
    for i in range(rounds):
        for mode in ("q", "python", "none") if i % 2 == 0 else ("none", "python", "q"):
            walks[mode].append(_walk(mode, identity))
    out: dict[str, Any] = {"rows": ROWS, "visible_share": 1 / VISIBLE_EVERY, "page_size": PAGE}
    for mode, runs in walks.items():
        times = [t for run in runs for t in run["times"]]
        last = runs[-1]
        mine = [v for run in runs for v in run["visible"]]
        out[f"{mode}_ms_per_page"] = statistics.median(times)
        out[f"{mode}_rows_read_per_page"] = statistics.mean(r for run in runs for r in run["rows"])
        out[f"{mode}_visible_per_page"] = statistics.mean(mine)
        out[f"{mode}_pages"] = len(last["times"])
        out[f"{mode}_ms_total"] = statistics.median(sum(run["times"]) for run in runs)
        assert sum(last["visible"]) == ROWS // VISIBLE_EVERY, (mode, sum(last["visible"]))
    out["python_over_q_total"] = out["python_ms_total"] / out["q_ms_total"]
    return out


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from bench.servers import setup_database

    setup_database(os.environ.get("REACTIVE_BENCH_DB", "reactive_bench_rules"))
    for key, value in rules_cost().items():
        print(f"{key:<28} {value:>12.3f}" if isinstance(value, float) else f"{key:<28} {value:>12}")
