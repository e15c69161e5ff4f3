"""Functions at `testapp/own_logs:<name>`: what a function logs and what a library logs in it."""

from __future__ import annotations

import logging
import time

from reactive import internal, mutation, query


@mutation
def chatty(ctx, name: str) -> str:
    """Log through every channel a function has, and make libraries log during the call."""
    ctx.log("own line", 1)
    print("printed", name)
    print("two\nlines", end="")
    logging.getLogger("reactive.fn.testapp").info("from the function logger")
    logging.getLogger("somelib").warning("a library's record")
    logging.getLogger("reactive.executor").warning("reactive's own record")
    # procrastinate logs "Deferred 1 job" at INFO while deferring
    ctx.scheduler.cancel(
        ctx.scheduler.run_after(3600, internal.testapp.scheduling.bump, {"name": name})
    )
    return "ok"


@query
def print_many(ctx, tag: str, n: int) -> int:
    for i in range(n):
        print(tag, i)
        time.sleep(0.001)
    return n


@query
def uncaught(ctx, marker: str) -> None:
    raise ValueError(f"uncaught {marker}")
