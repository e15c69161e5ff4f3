"""The database connections of Django's per-request threads under ASGI, closed with the request.

Under ASGI, Django runs each request's synchronous code (sync views and middleware, the ORM
calls behind `request.auser()` and the session) in a thread that asgiref makes for that request
(Django's handler enters a `ThreadSensitiveContext` per request) and ends after it. Connections
are per thread, so with persistent connections (`CONN_MAX_AGE` > 0) the one such a thread opened
can never be used again; yet Django's `request_finished` handler (`close_old_connections`) keeps
it open, as it would for a WSGI worker thread, and it is closed only when CPython's cyclic
collector frees the dead thread's connection wrapper (which refers to itself). Collected rarely
(`SYNC.gc_threshold`), those connections filled Postgres's `max_connections`.

`close_request_thread_connections` is a `request_finished` receiver: Django sends that signal
from the request's own thread, and there it closes the thread's connections. Threads that live
on keep theirs, persistent as configured: the event loop's worker threads that run the executor
(`functions.context.run_off_loop`, used by `views.py` and the consumer), the sync engine's thread,
Channels' database thread (WebSocket handshakes: no per-request context there). Under WSGI,
or without persistent connections, it changes nothing.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import SyncToAsync
from django.core.signals import request_finished
from django.db import connections


def close_request_thread_connections(**kwargs: Any) -> None:
    """Close this thread's connections if it is an ASGI request's own thread."""
    if SyncToAsync.thread_sensitive_context.get(None) is None:
        return  # WSGI, a management command, a test client: the thread may be reused
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block:
            conn.close()


def connect() -> None:
    request_finished.connect(
        close_request_thread_connections, dispatch_uid="reactive.request_threads"
    )
