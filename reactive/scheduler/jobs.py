"""procrastinate glue: the task that runs a scheduled function, and deferring/cancelling it.

Jobs are deferred through a job manager of our own over procrastinate's Django connector, which
executes on the Django connection of the caller's database alias: inside a mutation that is the
mutation's transaction, so the job and the `_scheduled_functions` row commit (or roll back) with
the mutation's writes. (The app's own connector is swapped for an async pool while a worker
runs, so it is not used for deferring.) The task only
carries the row's id; everything else is read from the row when it runs, so a job that runs
twice (a worker died after the function committed) finds the row finished and does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from procrastinate import RetryDecision, manager
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.retry import BaseRetryStrategy
from procrastinate.tasks import configure_task

from ..conf import reactive_settings
from ..errors import TransientFailure as TransientFailure  # re-exported: old import path

logger = logging.getLogger("reactive.scheduler")

TASK_NAME = "reactive.run_scheduled_function"


class _Backoff(BaseRetryStrategy):
    """Exponential backoff for transient failures only, with limits read from the settings."""

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> RetryDecision | None:
        if not isinstance(exception, TransientFailure):
            return None
        settings = reactive_settings.SCHEDULER
        if job.attempts + 1 >= settings.mutation_attempts:
            return None
        return RetryDecision(retry_in={"seconds": settings.retry_delay(job.attempts + 1)})


@app.task(name=TASK_NAME, pass_context=True, retry=_Backoff())
def run_scheduled_function(context: Any, id: int, using: str = "default") -> str:
    """Run the scheduled function with this row id (see `runner.run`)."""
    from django.db import close_old_connections

    from ..functions.failures import is_connection_failure
    from .runner import run

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
            raise TransientFailure(f"row {id}: database connection failed: {exc}") from exc
        raise
    finally:
        close_old_connections()


_managers: dict[str, manager.JobManager] = {}


def _manager(using: str) -> manager.JobManager:
    if using not in _managers:
        _managers[using] = manager.JobManager(DjangoConnector(alias=using))
    return _managers[using]


def defer(pk: int, due_ms: float, using: str) -> int:
    """Queue the job for row ``pk`` at ``due_ms``, on ``using``'s connection; the job id."""
    when = dt.datetime.fromtimestamp(due_ms / 1000.0, tz=dt.UTC)
    deferrer = configure_task(
        name=TASK_NAME,
        job_manager=_manager(using),
        schedule_at=when,
        queue=reactive_settings.SCHEDULER.queue,
    )
    return int(deferrer.defer(id=pk, using=using))


def cancel(job_id: int, using: str) -> None:
    """Mark a job that has not started as cancelled (a started one finds its row canceled)."""
    _manager(using).cancel_job_by_id(job_id)
