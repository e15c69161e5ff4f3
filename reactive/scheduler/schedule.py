"""`ctx.scheduler`: run_after, run_at and cancel, from mutations and actions.

Every call is checked before anything is written: the reference must be an ``api.x.y`` /
``internal.x.y`` reference to a mutation or action, the arguments must pass the target's
validators, the time must be a real one, and the call must stay within the per-function limits.
Then one `_scheduled_functions` row and its procrastinate job are written on the caller's
connection: inside a mutation, in the mutation's transaction (a mutation that raises or is
retried leaves nothing behind from the failed attempt); inside an action, in a transaction of
their own.

This module sits below the executor (which builds ``ctx.scheduler`` from it), and the executor
may be imported before Django's app registry is ready (``from reactive import execute``), so
the `ScheduledFunction` model is imported where it is used.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from .. import clock, ids
from ..conf import reactive_settings
from ..db.raw_reads import own_statements
from ..errors import FunctionError, FunctionNotFound, InvalidId, SchedulerError
from ..functions.references import FunctionReference
from ..functions.registry import Kind, resolve, validate_args
from ..limits import approx_size
from ..values import ValueEncodingError, encode
from . import jobs
from .states import UNFINISHED, State
from .system_table import TABLE

#: The `_scheduled_functions` row whose function is running (set by the runner), so that what
#: it schedules records its origin: cancelling the origin cancels those too.
current_origin: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "reactive_scheduled_origin", default=None
)

DAY_MS = 86_400_000.0


@dataclass
class Tally:
    """What one function call (with the mutations nested in it) has scheduled so far."""

    count: int = 0
    args_bytes: int = 0


class Scheduler:
    """``ctx.scheduler`` of one function call."""

    def __init__(
        self,
        *,
        path: str,
        using: str,
        now: float | None,
        tally: Tally,
        in_transaction: bool,
        cron: str = "",
    ) -> None:
        self._path = path
        self._using = using
        self._now = now  # a mutation's frozen ctx.now; None in actions (the clock moves)
        self._tally = tally
        self._in_transaction = in_transaction
        self._cron = cron

    def run_after(
        self, delay_ms: float, ref: FunctionReference, args: dict[str, Any] | None = None
    ) -> str:
        """Run ``ref(args)`` ``delay_ms`` milliseconds from now; the new row's id.

        Example:
            >>> ctx.scheduler.run_after(0, internal.email.send, {"to": user["email"]})
        """
        delay = self._number(delay_ms, "run_after", "delay_ms")
        if delay < 0:
            raise SchedulerError(f"{self._path}: run_after delay_ms must be >= 0, got {delay:g}")
        self._check_horizon(delay, "run_after")
        return self._schedule(self._base_now() + delay, ref, args, "run_after")

    def run_at(
        self,
        timestamp: float | dt.datetime,
        ref: FunctionReference,
        args: dict[str, Any] | None = None,
    ) -> str:
        """Run ``ref(args)`` at ``timestamp`` (ms since the epoch, or an aware datetime).
        A time in the past runs as soon as possible."""
        if isinstance(timestamp, dt.datetime):
            if timestamp.tzinfo is None:
                raise SchedulerError(f"{self._path}: run_at needs a timezone-aware datetime")
            when = timestamp.timestamp() * 1000.0
        else:
            when = self._number(timestamp, "run_at", "timestamp")
        if when < 1e11:
            raise SchedulerError(
                f"{self._path}: run_at timestamp {when:g} is before 1973: it must be in "
                "milliseconds since the epoch (not seconds)"
            )
        self._check_horizon(when - self._base_now(), "run_at")
        return self._schedule(when, ref, args, "run_at")

    @own_statements
    def cancel(self, id: str) -> None:
        """Cancel a scheduled function: a pending one will not run; a running action carries
        on, but what it has scheduled (or goes on to schedule) will not run. Cancelling one
        that already finished does nothing."""
        from ..models import ScheduledFunction  # deferred: models need the app registry

        pk = ids.pk_of(TABLE, id) if isinstance(id, str) else None
        if pk is None:
            raise InvalidId(f"{self._path}: cancel expects an id of {TABLE}, got {id!r}")
        rows = ScheduledFunction.objects.using(self._using)
        row = rows.filter(pk=pk).values("state").first()
        if row is None:
            raise SchedulerError(f"{self._path}: cancel: no scheduled function {id}")
        if row["state"] not in UNFINISHED:
            return
        with self._atomic():
            cancel_tree(self._using, [pk])

    # -- internals ---------------------------------------------------------------------
    def _base_now(self) -> float:
        return self._now if self._now is not None else clock.now_ms()

    def _number(self, value: Any, call: str, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchedulerError(
                f"{self._path}: {call} {name} must be a number of "
                f"milliseconds, not {type(value).__name__}"
            )
        if not math.isfinite(value):
            raise SchedulerError(f"{self._path}: {call} {name} must be finite, got {value}")
        return float(value)

    def _check_horizon(self, delay: float, call: str) -> None:
        days = reactive_settings.SCHEDULER.max_delay_days
        if delay > days * DAY_MS:
            raise SchedulerError(
                f"{self._path}: {call} is more than {days:g} days away ({delay / DAY_MS:.0f} days)"
            )

    def _target(self, ref: Any) -> tuple[str, Any]:
        if not isinstance(ref, FunctionReference):
            raise SchedulerError(
                f"{self._path}: schedule a function by reference (api.x.y or internal.x.y), "
                f"not {type(ref).__name__} {ref!r}"
            )
        try:
            path, fn = resolve(ref, from_client=False)
        except (ValueError, FunctionNotFound) as exc:
            raise SchedulerError(f"{self._path}: cannot schedule {ref!r}: {exc}") from None
        if fn.kind is Kind.QUERY:
            raise SchedulerError(
                f"{self._path}: cannot schedule {path}: it is a query; "
                "schedule a mutation or an action"
            )
        return path, fn

    @own_statements
    def _schedule(self, when: float, ref: Any, args: dict[str, Any] | None, call: str) -> str:
        from ..models import ScheduledFunction  # deferred: models need the app registry

        path, fn = self._target(ref)
        args = {} if args is None else args
        try:
            validate_args(fn, path, args)
            encoded = encode(args)
        except (FunctionError, ValueEncodingError) as exc:
            raise SchedulerError(f"{self._path}: {call} {path}: {exc}") from None
        settings = reactive_settings.SCHEDULER
        size = approx_size(encoded)
        if size > settings.max_args_bytes:
            raise SchedulerError(
                f"{self._path}: {call} {path}: arguments are too large "
                f"({size} > {settings.max_args_bytes} bytes)"
            )
        if self._tally.count + 1 > settings.max_scheduled_per_function:
            raise SchedulerError(
                f"{self._path}: too many scheduled functions in one call (limit "
                f"{settings.max_scheduled_per_function})"
            )
        if self._tally.args_bytes + size > settings.max_total_args_bytes:
            raise SchedulerError(
                f"{self._path}: scheduled arguments total more than "
                f"{settings.max_total_args_bytes} bytes in one call"
            )
        with self._atomic():
            row = ScheduledFunction.objects.using(self._using).create(
                name=path,
                args=[encoded],
                kind=fn.kind.value,
                scheduled_time=when,
                origin_id=current_origin.get(),
                cron=self._cron,
            )
            job_id = jobs.defer(row.pk, when, self._using)
            ScheduledFunction.objects.using(self._using).filter(pk=row.pk).update(job_id=job_id)
        self._tally.count += 1
        self._tally.args_bytes += size
        return ids.encode_id(TABLE, row.pk)

    def _atomic(self) -> Any:
        # In a mutation the writes simply join its transaction (every check that can refuse
        # the call runs before them, so a refused call leaves the transaction usable); in an
        # action, the row and its job get a transaction of their own.
        if self._in_transaction:
            return contextlib.nullcontext()
        return transaction.atomic(using=self._using)


def cancel_tree(using: str, pks: list[int]) -> int:
    """Cancel these rows and everything they scheduled, recursively, that has not finished;
    cancel the jobs that have not started. Returns how many rows were canceled."""
    from ..models import ScheduledFunction  # deferred: models need the app registry

    now = clock.now_ms()
    rows = ScheduledFunction.objects.using(using)
    seen: set[int] = set()
    frontier = list(pks)
    canceled = 0
    while frontier:
        seen.update(frontier)
        live = list(
            rows.filter(pk__in=frontier, state__in=UNFINISHED).values_list("pk", "job_id", "state")
        )
        for pk, job_id, state in live:
            canceled += rows.filter(pk=pk, state=state).update(
                state=State.CANCELED, completed_time=now
            )
            if state == State.PENDING and job_id is not None:
                jobs.cancel(job_id, using)
        frontier = [
            pk
            for pk in rows.filter(origin_id__in=frontier).values_list("pk", flat=True)
            if pk not in seen
        ]
    return canceled
