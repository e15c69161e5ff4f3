"""The worker: procrastinate's worker for scheduled functions, plus crons, recovery and pruning.

One asyncio loop runs four things side by side:

- procrastinate's worker on the scheduler queue (it wakes on NOTIFY when a job is deferred, and
  polls as a fallback); its heartbeat lets other workers see it alive;
- the cron loop: registers the declared crons at start, then schedules due runs each second;
- recovery: jobs left ``doing`` by a worker whose heartbeat stopped (killed, machine lost) are
  put back in the queue, and so are jobs this worker took but no longer runs (a lost connection
  failed the query recording their end); the runner then finds out what had committed (see
  `runner`);
- pruning: finished `_scheduled_functions` rows older than the retention are deleted.

procrastinate's worker ends when one of its own queries loses the connection (taking a job,
a side task such as its LISTEN reconnecting while the database is down); it is started again
here, so a database restart never leaves the process without a worker. SIGTERM or SIGINT stops
it cleanly: procrastinate stops taking jobs and waits for the running ones, then the other
loops are cancelled. `default_logging()` makes it print its INFO lines in a
project whose LOGGING says nothing about them. Only `manage.py reactive worker` imports this
module, once Django is set up, so it imports the models directly.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import psycopg
from channels.db import database_sync_to_async
from procrastinate import signals
from procrastinate.contrib.django import app
from procrastinate.exceptions import ConnectorException
from procrastinate.worker import Worker

from .. import clock
from ..conf import reactive_settings
from ..models import ScheduledFunction
from . import cron_table
from .crons import Cron, discover
from .states import FINISHED

if TYPE_CHECKING:
    from procrastinate.contrib.django.django_connector import DjangoConnector
    from procrastinate.job_context import JobContext
    from procrastinate.jobs import Job

logger = logging.getLogger("reactive.scheduler")


def default_logging() -> None:
    """Print the worker's INFO lines unless LOGGING decided about them.

    ``reactive.scheduler`` gets level INFO unless LOGGING set one; if no handler would receive
    its records (none on it, on ``reactive`` or on the root), a stdout handler at INFO is added
    to ``reactive``, so function errors (``reactive.executor``) show too. Other libraries'
    loggers are left as LOGGING has them.
    """
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.hasHandlers():
        handler = logging.StreamHandler(sys.stdout)
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("reactive").addHandler(handler)


def _db(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run blocking ORM work in a thread, with Django's connection hygiene."""
    return database_sync_to_async(fn, thread_sensitive=False)


async def cron_loop(crons: dict[str, Cron], using: str) -> None:
    while True:
        try:
            for name, what in await _db(cron_table.run_due)(crons, using):
                logger.info("cron %r: %s", name, what)
            upcoming = await _db(cron_table.next_due)(using)
        except Exception:
            logger.exception("cron loop failed; retrying")
            upcoming = None
        wait = 1.0 if upcoming is None else (upcoming - clock.now_ms()) / 1000.0
        await asyncio.sleep(min(1.0, max(0.05, wait)))


class Runs:
    """The procrastinate worker this process runs now, and the jobs it is running.

    A job stays ``doing`` under a live worker when the query recording its end (done, or to
    be retried) lost its connection: procrastinate does not try that query again, and the
    worker's heartbeat goes on, so no stalled-worker check ever finds the job. `orphans`
    finds such jobs: ``doing`` under this worker's id, not running here, on two checks in a
    row (a job just taken is running before the next check).
    """

    def __init__(self) -> None:
        self.worker: Worker | None = None
        self.stopping = False
        self._running: set[int] = set()
        self._suspects: set[int] = set()

    def own_id(self) -> int | None:
        return self.worker.worker_id if self.worker is not None else None

    def mine(self, job: Job) -> bool:
        """Taken by this process's worker as it is now, or running here (a job keeps running
        under a worker id that was pruned or replaced)."""
        own = self.own_id()
        return (own is not None and job.worker_id == own) or job.id in self._running

    async def track(self, call_next: Callable[[], Any], context: JobContext, _: Worker) -> Any:
        """procrastinate worker middleware: note the job as running while its task runs."""
        job_id = context.job.id
        if job_id is not None:
            self._running.add(job_id)
        try:
            return await call_next()
        finally:
            self._running.discard(job_id or 0)

    async def orphans(self, app: Any, queue: str) -> list[Job]:
        own = self.own_id()
        if own is None:
            self._suspects = set()
            return []
        doing = await app.job_manager.list_jobs_async(queue=queue, status="doing", worker_id=own)
        idle = [job for job in doing if job.id not in self._running]
        found = [job for job in idle if job.id in self._suspects]
        self._suspects = {job.id for job in idle} - {job.id for job in found}
        return found

    def stop(self) -> None:
        """SIGTERM/SIGINT: stop the worker and do not start it again."""
        self.stopping = True
        if self.worker is not None:
            self.worker.stop()  # type: ignore[no-untyped-call]


async def recovery_loop(app: Any, using: str, runs: Runs) -> None:
    settings = reactive_settings.SCHEDULER
    while True:
        await asyncio.sleep(settings.heartbeat_seconds)
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=settings.queue, seconds_since_heartbeat=settings.stalled_seconds
            )
            for job in stalled:
                if runs.mine(job):
                    # a heartbeat held up by a database outage, not a dead worker; what this
                    # process runs must not run again (an action would be marked failed)
                    continue
                logger.warning(
                    "job %s (row %s) was left running by a worker that stopped; queueing it again",
                    job.id,
                    job.task_kwargs.get("id"),
                )
                await app.job_manager.retry_job(job)
            for job in await runs.orphans(app, settings.queue):
                logger.warning(
                    "job %s (row %s) was left running by this worker when a lost connection "
                    "failed to record its end; queueing it again",
                    job.id,
                    job.task_kwargs.get("id"),
                )
                await app.job_manager.retry_job(job)
            pruned = await _db(prune)(using)
            if pruned:
                logger.info("pruned %d finished scheduled functions", pruned)
        except Exception:
            logger.exception("recovery loop failed; retrying")


def prune(using: str) -> int:
    settings = reactive_settings.SCHEDULER
    cutoff = clock.now_ms() - settings.retention_days * 86_400_000.0
    old = (
        ScheduledFunction.objects.using(using)
        .filter(completed_time__lt=cutoff, state__in=FINISHED)
        .values_list("pk", flat=True)[:1000]
    )
    deleted, _ = ScheduledFunction.objects.using(using).filter(pk__in=list(old)).delete()
    return deleted


async def run(
    *,
    using: str = "default",
    concurrency: int | None = None,
    name: str | None = None,
    crons: bool = True,
) -> None:
    """Run the worker until SIGTERM/SIGINT."""
    settings = reactive_settings.SCHEDULER
    declared = {c.name: c for c in discover()} if crons else {}
    if crons:
        report = await _db(cron_table.register)(list(declared.values()), using)
        for cron_name, what in sorted(report.items()):
            logger.info("cron %r: %s", cron_name, what)
    # the app's connector is procrastinate's Django connector (PROCRASTINATE settings)
    connector = cast("DjangoConnector", app.connector)
    runs = Runs()
    with app.replace_connector(connector.get_worker_connector()) as worker_app:
        async with worker_app.open_async():
            helpers = [asyncio.create_task(recovery_loop(worker_app, using, runs), name="recovery")]
            if declared:
                helpers.append(asyncio.create_task(cron_loop(declared, using), name="crons"))
            logger.info(
                "worker started: queue %r, concurrency %d, %d cron(s)",
                settings.queue,
                concurrency or settings.worker_concurrency,
                len(declared),
            )
            options: dict[str, Any] = dict(
                worker_app.worker_defaults,
                queues=[settings.queue],
                concurrency=concurrency or settings.worker_concurrency,
                name=name or "reactive",
                fetch_job_polling_interval=settings.poll_seconds,
                update_heartbeat_interval=settings.heartbeat_seconds,
                stalled_worker_timeout=settings.stalled_seconds,
                delete_jobs="successful",
                install_signal_handlers=False,  # on_stop below: one handler across restarts
                shutdown_graceful_timeout=settings.shutdown_seconds,
                worker_middleware=[runs.track],
            )
            worker_app.perform_import_paths()  # type: ignore[no-untyped-call]
            try:
                with signals.on_stop(runs.stop):
                    await keep_running(worker_app, options, runs)
            finally:
                for task in helpers:
                    task.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                logger.info("worker stopped")


async def keep_running(worker_app: Any, options: dict[str, Any], runs: Runs) -> None:
    """Run procrastinate's worker until SIGTERM/SIGINT, starting it again whenever it ended
    because a query of its own lost the database connection."""
    settings = reactive_settings.SCHEDULER
    while not runs.stopping:
        runs.worker = Worker(app=worker_app, **options)
        try:
            await runs.worker.run()  # type: ignore[no-untyped-call]
        except Exception as exc:
            if runs.stopping or not _lost_connection(exc):
                raise
            logger.warning(
                "the worker lost its database connection (%s); starting it again",
                exc.__cause__ or exc,
            )
        else:
            if runs.stopping:
                return
            # a side task (heartbeat, LISTEN) failed, and procrastinate stopped the worker
            logger.warning("the worker stopped after a database error; starting it again")
        await asyncio.sleep(settings.heartbeat_seconds)


def _lost_connection(exc: BaseException) -> bool:
    """A connection lost or refused under procrastinate (a pool timeout is one too)."""
    cause = exc.__cause__ if isinstance(exc, ConnectorException) else exc
    return isinstance(cause, psycopg.OperationalError)
