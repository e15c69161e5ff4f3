"""Writing this process's figures to the database, so that the admin of any process shows every
process's: call figures as upserts into one row per function and minute, retried and conflicting
calls into a capped table, live subscription counts into one row per process with an expiry.

`install` (the app's ``ready()``) starts a daemon thread that calls `flush_now` every
``REACTIVE["OBSERVE"]["flush_seconds"]`` and once more at exit; a process with nothing to report
(no call, no sync engine) writes nothing. A failed flush keeps its figures for the next one. The
thread closes its database connection after each flush.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid

from django.db import connections, transaction

from ..conf import reactive_settings
from ..models import ConflictEvent, FunctionStat, ProcessSubscriptions
from . import live, stats

logger = logging.getLogger("reactive.observe")


def _name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


#: This process, as its rows name it.
PROCESS = _name()

_lock = threading.Lock()  # one flush at a time (the thread, the admin, exit)


class _State:
    started = False  # the thread runs
    published = False  # this process has a subscriptions row
    pruned = 0.0  # when old figures were last deleted (time.time())
    failing = False  # the last flush failed (the next failures log quietly)


_state = _State()

_UPSERT = (
    "INSERT INTO {t} (path, minute, calls, errors, retries, conflicts, total_ms, max_ms, reads, "
    "writes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (path, minute) DO UPDATE "
    "SET calls = {t}.calls + EXCLUDED.calls, errors = {t}.errors + EXCLUDED.errors, "
    "retries = {t}.retries + EXCLUDED.retries, conflicts = {t}.conflicts + EXCLUDED.conflicts, "
    "total_ms = {t}.total_ms + EXCLUDED.total_ms, max_ms = GREATEST({t}.max_ms, EXCLUDED.max_ms), "
    "reads = {t}.reads + EXCLUDED.reads, writes = {t}.writes + EXCLUDED.writes"
)


def install() -> None:
    """Start the periodic flush (unless ``flush_seconds`` is 0) and the flush at exit."""
    seconds = reactive_settings.lenient.OBSERVE.flush_seconds
    with _lock:
        if seconds <= 0 or _state.started:
            return
        _state.started = True
    _start(seconds)
    atexit.register(_at_exit)
    os.register_at_fork(after_in_child=_after_fork)


def _start(seconds: float) -> None:
    threading.Thread(target=_loop, args=(seconds,), name="reactive-observe", daemon=True).start()


def _after_fork() -> None:
    """A forked child (a server's workers forked after start-up) is a process of its own: its
    own name, no figures of its parent's, and a flush thread of its own (threads do not
    survive a fork)."""
    global PROCESS, _lock
    PROCESS = _name()
    _lock = threading.Lock()
    _state.published = False
    stats.reset()
    live.reset()
    _start(reactive_settings.lenient.OBSERVE.flush_seconds)


def _loop(seconds: float) -> None:
    while True:
        time.sleep(seconds)
        _flush_logged()


def _flush_logged(final: bool = False) -> None:
    try:
        flush_now(final=final)
        _state.failing = False
    except Exception as exc:
        level = logging.DEBUG if _state.failing else logging.WARNING
        logger.log(level, "could not write the activity figures (kept for later): %s", exc)
        _state.failing = True
    finally:
        connections.close_all()  # this thread's connections only


def _at_exit() -> None:
    _flush_logged(final=True)


def flush_now(using: str = "default", *, final: bool = False) -> None:
    """Write what this process gathered since the last flush, and its live subscriptions
    (``final``: the process is ending, its subscriptions row is removed)."""
    with _lock:
        buckets, retried = stats.take()
        counts = live.counts() if live.watching() else None
        if not buckets and not retried and counts is None and not _state.published:
            return
        try:
            with transaction.atomic(using=using):
                with connections[using].cursor() as cursor:
                    # figures wait for no one: a lock held elsewhere (a TRUNCATE of these tables,
                    # whose lock order is its own) ends this flush, kept for the next one,
                    # before Postgres's deadlock check (1 s) picks the other side as its victim
                    cursor.execute("SET LOCAL lock_timeout = '200ms'")
                _write_buckets(using, buckets)
                _write_retried(using, retried)
                _publish(using, counts, final)
                _prune(using)
        except Exception:
            stats.put_back(buckets, retried)
            raise


def _write_buckets(using: str, buckets: dict[tuple[str, int], stats.Figures]) -> None:
    if not buckets:
        return
    rows: list[list[str | int | float]] = [
        [path, minute, *f[:4], f[stats.TOTAL_NS] / 1e6, f[stats.MAX_NS] / 1e6, *f[6:]]
        for (path, minute), f in sorted(buckets.items())  # one order: no deadlock between flushes
    ]
    with connections[using].cursor() as cursor:
        cursor.executemany(_UPSERT.format(t=FunctionStat._meta.db_table), rows)


def _write_retried(using: str, retried: list[stats.Retried]) -> None:
    if not retried:
        return
    keep = reactive_settings.OBSERVE.recent_conflicts
    ConflictEvent.objects.using(using).bulk_create(
        ConflictEvent(
            time=r.time_ms, path=r.path, attempts=r.attempts, error=r.error[:2000], process=PROCESS
        )
        for r in retried[-keep:]
    )
    oldest_kept = (
        ConflictEvent.objects.using(using)
        .order_by("-id")
        .values_list("id", flat=True)[keep - 1 : keep]
    )
    ConflictEvent.objects.using(using).filter(id__lt=oldest_kept).delete()


def _publish(using: str, counts: dict[str, int] | None, final: bool) -> None:
    rows = ProcessSubscriptions.objects.using(using)
    now = time.time() * 1000.0
    if final or counts is None:
        if _state.published:
            rows.filter(process=PROCESS).delete()
            _state.published = False
        return
    ttl = max(3 * reactive_settings.OBSERVE.flush_seconds, 10.0) * 1000.0
    rows.update_or_create(
        process=PROCESS, defaults={"counts": counts, "heartbeat": now, "expires": now + ttl}
    )
    _state.published = True
    rows.filter(expires__lt=now).delete()  # processes that stopped without saying so


def _prune(using: str) -> None:
    now = time.time()
    if now - _state.pruned < 60.0:
        return
    _state.pruned = now
    hours = reactive_settings.OBSERVE.retention_hours
    FunctionStat.objects.using(using).filter(minute__lt=int((now - hours * 3600) // 60)).delete()
