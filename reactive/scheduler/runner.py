"""Run one scheduled function: a mutation exactly once, an action at most once.

A mutation's row is checked (still pending, its origin not canceled) and marked ``success``
inside the mutation's own transaction, through the executor's `TransactionGuard`. So whatever
happens to the worker (killed mid-mutation: Postgres rolls the transaction back; killed after
COMMIT: the row already says success), running the job again runs the mutation at most once
more, and only if it never committed. A failure that is not the function's own doing (a write
conflict after all retries, a lost database connection) raises `TransientFailure`, which the
job's retry strategy turns into a later retry; the function's own errors mark the row failed.
Conflicts are retried up to ``SCHEDULER['mutation_attempts']`` tries; a lost connection
(`ConnectionLost`) until the database answers again.

An action is marked ``inProgress`` in a transaction of its own before it starts. A job that finds
its action already in progress means a worker died while running it: the row is marked failed
and the action is not run again.

`run_scheduled_function` is the procrastinate task a job names (`jobs.TASK_NAME`); importing
this module registers it (the app's ``ready()`` does). This module sits above the executor, and
is imported only once Django's app registry is ready, so it imports the models directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections, transaction
from procrastinate import RetryDecision
from procrastinate.contrib.django import app
from procrastinate.retry import BaseRetryStrategy

from .. import clock
from ..conf import reactive_settings
from ..errors import ConflictError, ConnectionLost, DatabaseUnavailable, TransientFailure
from ..functions.executor import execute
from ..functions.failures import is_connection_failure
from ..functions.outcome import CallOptions, Outcome, TransactionGuard, error_message
from ..functions.registry import Kind
from ..models import ScheduledFunction
from ..values import decode
from .jobs import TASK_NAME
from .schedule import current_origin
from .states import State

logger = logging.getLogger("reactive.scheduler")

WORKER_DIED = (
    "the worker running this action stopped before it finished; actions run at most "
    "once, so it was not retried"
)


@dataclass
class _Once(TransactionGuard):
    """Check and record a scheduled mutation inside its own transaction."""

    pk: int
    attempt: int
    skipped: str = ""

    def before(self, using: str) -> bool:
        # Locking the row makes a concurrent run or cancel wait for this transaction, in
        # select_for_update mode too (where no serialization check would catch the race).
        row = (
            ScheduledFunction.objects.using(using)
            .select_for_update(of=("self",))
            .filter(pk=self.pk)
            .values("state", "origin__state")
            .first()
        )
        if row is None or row["state"] != State.PENDING:
            self.skipped = f"already {row['state']}" if row else "gone"
            return False
        if row["origin__state"] == State.CANCELED:
            _finish(using, self.pk, State.CANCELED, "", self.attempt)
            self.skipped = "canceled with its origin"
            return False
        return True

    def after(self, using: str, outcome: Outcome) -> None:
        if not _finish(using, self.pk, State.SUCCESS, "", self.attempt):
            raise RuntimeError(f"scheduled function {self.pk} changed under its row lock")


def _finish(
    using: str, pk: int, state: State, error: str, attempts: int, expect: State = State.PENDING
) -> int:
    return (
        ScheduledFunction.objects.using(using)
        .filter(pk=pk, state=expect)
        .update(state=state, error=error, completed_time=clock.now_ms(), attempts=attempts)
    )


def run(pk: int, *, using: str = "default", attempt: int = 1, last_attempt: bool = True) -> str:
    """Run the scheduled function in row ``pk``; a word on what happened (for the log)."""
    started = time.perf_counter()
    row = (
        ScheduledFunction.objects.using(using)
        .filter(pk=pk)
        .values("name", "args", "kind", "state")
        .first()
    )
    if row is None:
        return "gone"
    if row["kind"] == Kind.MUTATION:
        what = _run_mutation(pk, row, using, attempt, last_attempt)
    else:
        what = _run_action(pk, row, using)
    logger.info(
        "%s %s (row %s, attempt %d): %s in %.1f ms",
        row["kind"],
        row["name"],
        pk,
        attempt,
        what,
        (time.perf_counter() - started) * 1000.0,
    )
    return what


def _args(row: Mapping[str, Any]) -> Any:
    return decode(row["args"][0]) if row["args"] else {}


def _run_mutation(
    pk: int, row: Mapping[str, Any], using: str, attempt: int, last_attempt: bool
) -> str:
    if row["state"] != State.PENDING:
        return f"already {row['state']}"
    guard = _Once(pk, attempt)
    token = current_origin.set(pk)
    try:
        outcome = execute(
            row["name"],
            _args(row),
            kind=Kind.MUTATION,
            using=using,
            options=CallOptions(guard=guard),
        )
    finally:
        current_origin.reset(token)
    if outcome.skipped:
        return guard.skipped
    if outcome.error is None:
        return "success"
    if isinstance(outcome.error, DatabaseUnavailable):  # whatever the try: see ConnectionLost
        raise ConnectionLost(f"{row['name']}: {outcome.error.message}")
    if isinstance(outcome.error, ConflictError) and not last_attempt:
        raise TransientFailure(f"{row['name']}: {outcome.error.message}")
    message = error_message(outcome.error)
    with transaction.atomic(using=using):
        _finish(using, pk, State.FAILED, message, attempt)
    return f"failed: {message}"


def _run_action(pk: int, row: Mapping[str, Any], using: str) -> str:
    rows = ScheduledFunction.objects.using(using)
    with transaction.atomic(using=using):
        current = (
            rows.select_for_update(of=("self",))
            .filter(pk=pk)
            .values("state", "origin__state")
            .first()
        )
        if current is None:
            return "gone"
        if current["state"] == State.IN_PROGRESS:
            _finish(using, pk, State.FAILED, WORKER_DIED, 1, expect=State.IN_PROGRESS)
            return "failed: the worker running it died"
        if current["state"] != State.PENDING:
            return f"already {current['state']}"
        if current["origin__state"] == State.CANCELED:
            _finish(using, pk, State.CANCELED, "", 0)
            return "canceled with its origin"
        rows.filter(pk=pk).update(state=State.IN_PROGRESS, attempts=1)
    token = current_origin.set(pk)
    try:
        outcome = execute(row["name"], _args(row), kind=Kind.ACTION, using=using)
    finally:
        current_origin.reset(token)
    if outcome.error is None:
        state, message = State.SUCCESS, ""
    else:
        state, message = State.FAILED, error_message(outcome.error)
    if not _finish(using, pk, state, message, 1, expect=State.IN_PROGRESS):
        return f"{state.value}, but it was canceled while it ran"
    return f"failed: {message}" if message else "success"


class _Backoff(BaseRetryStrategy):
    """Exponential backoff for transient failures only, with limits read from the settings."""

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> RetryDecision | None:
        if not isinstance(exception, TransientFailure):
            return None
        settings = reactive_settings.SCHEDULER
        if job.attempts + 1 >= settings.mutation_attempts and not isinstance(
            exception, ConnectionLost
        ):
            return None
        return RetryDecision(retry_in={"seconds": settings.retry_delay(job.attempts + 1)})


@app.task(name=TASK_NAME, pass_context=True, retry=_Backoff())
def run_scheduled_function(context: Any, id: int, using: str = "default") -> str:
    """Run the scheduled function with this row id (see `run`)."""
    settings = reactive_settings.SCHEDULER
    attempt = context.job.attempts + 1
    close_old_connections()
    try:
        return run(
            id, using=using, attempt=attempt, last_attempt=attempt >= settings.mutation_attempts
        )
    except Exception as exc:
        # The database went away around the call (reading the row, marking an action): the
        # row says what committed, so running the job again is safe.
        if is_connection_failure(exc):
            raise ConnectionLost(f"row {id}: database connection failed: {exc}") from exc
        raise
    finally:
        close_old_connections()
