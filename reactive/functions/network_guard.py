"""Refuse network I/O inside queries and mutations (DESIGN invariant 8).

Queries and mutations may run more than once (retries, re-runs for subscribers), so a request to
another service from one would be repeated or half-applied. While one runs, a Python audit hook
refuses `socket.connect` and DNS lookups from its thread. libpq (the database connection) does not
go through Python sockets and is unaffected. On in every mode, as in Convex;
`REACTIVE["REFUSE_NETWORK_IN_TRANSACTIONS"] = False` switches it off. It costs a thread-local
write on entering and leaving each query or mutation and a set lookup per audit event (the
figure is in docs/transactions.md).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from ..conf import reactive_settings
from ..errors import NotAllowedHere

_local = threading.local()
_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.sendto",
        "urllib.Request",
    }
)
_installed = False
_install_lock = threading.Lock()


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event in _EVENTS:
        where = getattr(_local, "where", None)
        if where is not None:
            raise NotAllowedHere(
                f"{where[0]}: network I/O ({event}) is not allowed in a {where[1]}: it may run "
                "again on retry. Do it in an action."
            )


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


class no_network:
    """Context manager: refuse network I/O in this thread while a query or mutation runs."""

    def __init__(self, path: str, kind: str) -> None:
        self.where = (path, kind)
        self.active = bool(reactive_settings.REFUSE_NETWORK_IN_TRANSACTIONS)

    def __enter__(self) -> None:
        if self.active:
            _install()
            self.previous = getattr(_local, "where", None)
            _local.where = self.where

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            _local.where = self.previous
