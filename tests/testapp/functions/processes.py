"""Functions at `testapp/processes:<name>`, for tests and benchmarks of several server processes."""

from __future__ import annotations

import os
from typing import Any

from reactive import query


@query
def pid(ctx) -> int:
    """The id of the server process that runs this query (which worker a socket landed on)."""
    return os.getpid()


@query
def listener(ctx) -> dict[str, Any]:
    """This process's id and its subscription engine counters."""
    from reactive.sync.listener import Listener

    listeners = list(Listener._instances.values())
    return {
        "pid": os.getpid(),
        "executions": sum(x.executions for x in listeners),
        "ticks": sum(x.ticks for x in listeners),
    }
