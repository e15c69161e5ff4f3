"""procrastinate glue for ``ctx.scheduler``: deferring and cancelling the job of a scheduled row.

Jobs are deferred through a job manager of our own over procrastinate's Django connector, which
executes on the Django connection of the caller's database alias: inside a mutation that is the
mutation's transaction, so the job and the `_scheduled_functions` row commit (or roll back) with
the mutation's writes. (The app's own connector is swapped for an async pool while a worker
runs, so it is not used for deferring.) A job only carries the row's id; the task it names
(`TASK_NAME`, defined in `runner`, which runs the row) reads everything else from the row, so a
job that runs twice (a worker died after the function committed) finds the row finished and
does nothing. This module knows the task by name only: it sits below the executor, the runner
above it.
"""

from __future__ import annotations

import datetime as dt

from procrastinate import manager
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.tasks import configure_task

from ..conf import reactive_settings
from ..errors import TransientFailure as TransientFailure  # re-exported: old import path

TASK_NAME = "reactive.run_scheduled_function"

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
