"""`manage.py reactive run <query> --watch`: print a query's result again each time it changes.

In-process, with the same wake-ups and the same test as the sync engine: a LISTEN connection
of its own wakes on the capture trigger's ``NOTIFY reactive_changes`` (and every
``poll_seconds`` whatever happens, as the listener's safety net), then the change log's writes
since the last snapshot (`changelog.changes.read_changes`) are checked against the last run's
read set (`ReadSet.overlaps_any`); only a write that can change the result re-runs the query,
and only a changed result is printed. Ctrl-C ends it with exit status 0; an unknown function or
arguments its validators refuse end it at once (exit status 1).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from ..auth import Identity
from ..changelog.changes import current_snapshot, read_changes
from ..errors import ArgumentValidationError
from ..functions.executor import execute
from ..functions.outcome import Outcome, error_message
from ..functions.registry import Kind, registry
from ..sync.wakeups import conninfo
from ..values import encode, whole


def watch(
    cmd: BaseCommand,
    path: str,
    args: dict[str, Any],
    identity: Identity | None,
    clean: bool,
    *,
    using: str = "default",
    poll_seconds: float = 5.0,
) -> None:
    fn = registry.get(path)
    if fn is not None and fn.kind is not Kind.QUERY:
        raise CommandError(
            f"--watch follows queries only: {fn.path} is a {fn.kind.value}; run it without --watch"
        )
    try:
        listen = psycopg.connect(**conninfo(using), autocommit=True)
    except psycopg.Error as exc:
        raise CommandError(f"--watch cannot LISTEN on the database: {exc}") from None
    shown: Any = object()  # nothing printed yet
    try:
        listen.execute("LISTEN reactive_changes")
        while True:
            last = current_snapshot(using)
            outcome = execute(path, args, identity=identity, from_client=False)
            if fn is None or isinstance(outcome.error, ArgumentValidationError):
                # an unknown function, or arguments no write can make valid: stop here
                if outcome.error is not None:
                    raise CommandError(error_message(outcome.error))
            shown = _show(cmd, outcome, clean, shown)
            close_old_connections()
            while True:
                changed, last = _changed(listen, outcome, last, using, poll_seconds)
                if changed:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        listen.close()


def _show(cmd: BaseCommand, outcome: Outcome, clean: bool, shown: Any) -> Any:
    """Print the result (or the error) if it differs from what was printed last."""
    for line in outcome.log_lines:
        cmd.stderr.write(line)
    if outcome.error is not None:
        text = f"error: {error_message(outcome.error)}"
        if text != shown:
            cmd.stderr.write(text)
        return text
    value = shown_json(outcome.value, clean)
    if value != shown:
        cmd.stdout.write(value)
        sys.stdout.flush()
    return value


def shown_json(value: Any, clean: bool) -> str:
    """A result as `run` prints it: indented JSON, whole numbers written as JavaScript writes
    them (``4``, not ``4.0``); the encoding itself is unchanged (Int64 stays apart in both
    formats: a decimal string or ``$integer``)."""
    return json.dumps(_whole_numbers(encode(value, clean=clean)), indent=2, ensure_ascii=False)


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float):
        return whole(value) if math.isfinite(value) else value
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    return value


def _changed(
    listen: psycopg.Connection[Any], outcome: Outcome, last: str, using: str, wait: float
) -> tuple[bool, str]:
    """Wait for a NOTIFY (or ``wait`` seconds); whether a write since snapshot ``last``
    touches the query's read set (a failed run has none: any write retries it), and the
    snapshot to read from next time (taken first: a write between the two is read twice,
    never missed)."""
    for _ in listen.notifies(timeout=wait, stop_after=1):
        pass
    now = current_snapshot(using)
    writes = read_changes(using, last)
    if not writes:
        return False, now
    if outcome.error is not None or outcome.reads is None:
        return True, now
    return outcome.reads.overlaps_any(writes), now
