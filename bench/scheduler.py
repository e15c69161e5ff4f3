"""scheduler_latency: commit of a mutation calling run_after(0) → the scheduled mutation starting.

A `manage.py reactive worker` runs on the benchmark database. This process calls
`testapp/scheduling:schedule_stamp` through the executor, notes the time right after it returns
(its transaction has committed), and waits for the scheduled `stamp` mutation's row to appear;
its `_creationTime` is taken inside the scheduled mutation, on the same machine clock. One
schedule at a time, so each figure is the idle-worker latency (NOTIFY wake-up, job fetch,
thread hand-off, the executor's transaction start).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def scheduler_latency(db_name: str, n: int = 200) -> dict[str, Any]:
    from reactive import api
    from reactive.functions.executor import execute
    from tests.testapp.models import Counter

    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        REACTIVE_LIVE_DB_NAME=db_name,
        PYTHONUNBUFFERED="1",
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "reactive", "worker", "--no-crons"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert worker.stdout is not None
        for line in worker.stdout:
            if b"worker started" in line:
                break
        run = uuid.uuid4().hex[:8]
        latencies: list[float] = []
        for i in range(n + 10):
            key = f"stamp-{run}-{i}"
            execute(api.testapp.scheduling.schedule_stamp, {"key": key}).unwrap()
            committed = time.time() * 1000.0
            deadline = time.monotonic() + 10
            started = None
            while started is None and time.monotonic() < deadline:
                started = (
                    Counter.objects.filter(name=key).values_list("creation_time", flat=True).first()
                )
                if started is None:
                    time.sleep(0.0005)
            if started is None:
                raise RuntimeError(f"scheduled run {key} did not start within 10 s")
            if i >= 10:  # warm-up
                latencies.append(started - committed)
        return {
            "runs": n,
            "commit_to_start_p50_ms": statistics.median(latencies),
            "commit_to_start_p99_ms": _pct(latencies, 99),
            "commit_to_start_max_ms": max(latencies),
        }
    finally:
        worker.terminate()
        worker.wait(timeout=30)
