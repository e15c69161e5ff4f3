"""What the network guard (`reactive.functions.network_guard`) costs.

- per call: a trivial query (`testapp:ping`, no table read) through `execute()` in this process,
  guard on vs off (`REACTIVE["REFUSE_NETWORK_IN_TRANSACTIONS"]`), alternated in rounds so that
  both see the same machine load; on a shared machine the paired difference is mostly noise, so
  the guard's own work (entering and leaving `no_network`) is also timed alone.
- per audit event: once installed, the audit hook runs on every audit event of the process
  (`open`, `socket.*`, `import`, ...), in every thread; `sys.audit()` timed in two fresh
  interpreters, one with the hook installed.

    python -m bench.guard          # standalone (DATABASE_URL, tests.settings)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

_AUDIT = """
import sys, timeit
if {hook}:
    from reactive.functions import network_guard
    network_guard._install()
n = 1_000_000
print(min(timeit.repeat("audit('reactive.bench')", globals={{"audit": sys.audit}},
                        number=n, repeat=5)) / n * 1e9)
"""


def _audit_ns(hook: bool) -> float:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings")
    out = subprocess.run(
        [sys.executable, "-c", _AUDIT.format(hook=hook)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def guard_cost(calls: int = 500, rounds: int = 48) -> dict[str, Any]:
    import timeit

    from django.test import override_settings

    from reactive.functions.executor import execute
    from reactive.functions.network_guard import no_network

    def round_us(refuse: bool) -> float:
        with override_settings(REACTIVE={"REFUSE_NETWORK_IN_TRANSACTIONS": refuse}):
            execute("testapp:ping").unwrap()  # settings reloaded outside the timing
            t = time.perf_counter()
            for _ in range(calls):
                execute("testapp:ping")
            return (time.perf_counter() - t) / calls * 1e6

    on: list[float] = []
    off: list[float] = []
    for i in range(rounds):  # alternated, each pair in both orders
        for refuse in (True, False) if i % 2 else (False, True):
            (on if refuse else off).append(round_us(refuse))
    n = 200_000
    enter_exit = (
        min(
            timeit.repeat(
                "with no_network('a:b', 'query'): pass",
                number=n,
                repeat=5,
                globals={"no_network": no_network},
            )
        )
        / n
        * 1e9
    )
    return {
        "calls_each": calls * rounds,
        "call_guard_off_us": statistics.median(off),
        "call_guard_on_us": statistics.median(on),
        "paired_difference_us": statistics.median(a - b for a, b in zip(on, off, strict=True)),
        "guard_enter_exit_ns": enter_exit,
        "audit_event_no_hook_ns": _audit_ns(False),
        "audit_event_with_hook_ns": _audit_ns(True),
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    for key, value in guard_cost().items():
        print(f"{key:<28} {value:>10.3f}" if isinstance(value, float) else f"{key:<28} {value:>10}")
