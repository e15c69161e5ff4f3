"""Declared crons in the database (`CronRun` rows), and turning due ones into scheduled functions.

`register` runs when a worker starts: it checks every declared cron (reference and arguments, as
``ctx.scheduler`` would), upserts its row and deletes the rows of crons no longer declared. A
cron whose schedule or function changed gets a fresh next run (a paused one stays paused).
`run_due` is called by the worker loop: in one transaction it locks the due rows of crons not
paused (``SKIP LOCKED``, so several workers share the work without running a cron twice),
schedules each one's function through the scheduler (so the run is a `_scheduled_functions` row
with ``cron`` set) and moves ``next_run`` on. A cron whose
previous run is still pending or in progress is skipped that time, and the skip is counted.

Only the worker, the system checks, the admin and `reactive.testing` use this module, all once
Django's app registry is ready, so it imports the models directly.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from .. import clock
from ..errors import ConfigurationError, FunctionError
from ..functions.references import FunctionReference
from ..functions.registry import validate_args
from ..ids import pk_of
from ..models import CronRun
from ..values import decode, encode
from .crons import Cron, Every, discover
from .schedule import Scheduler, Tally
from .states import UNFINISHED
from .system_table import TABLE

logger = logging.getLogger("reactive.scheduler")


def _scheduler(cron_name: str, using: str, now: float) -> Scheduler:
    return Scheduler(
        path=f"cron {cron_name!r}",
        using=using,
        now=now,
        tally=Tally(),
        in_transaction=True,
        cron=cron_name,
    )


def check(cron: Cron) -> None:
    """Raise ConfigurationError if the cron's function or arguments would be refused."""
    try:
        path, fn = _scheduler(cron.name, "default", 0)._target(cron.ref)
    except FunctionError as exc:
        raise ConfigurationError(str(exc)) from None  # it names the cron already
    try:
        validate_args(fn, path, cron.args)
    except FunctionError as exc:
        raise ConfigurationError(f"cron {cron.name!r}: {exc}") from None


def register(crons: list[Cron], using: str = "default") -> dict[str, str]:
    """Store the declared crons; returns name → what happened (added, updated, kept,
    removed)."""
    for cron in crons:
        check(cron)
    now = clock.now_ms()
    report: dict[str, str] = {}
    with transaction.atomic(using=using):
        rows = {r.name: r for r in CronRun.objects.using(using).select_for_update()}
        for cron in crons:
            row = rows.pop(cron.name, None)
            spec = dict(function=cron.path, args=encode(cron.args), schedule=str(cron.schedule))
            if row is None:
                CronRun.objects.using(using).create(
                    name=cron.name, next_run=cron.schedule.next_after(None, now), **spec
                )
                report[cron.name] = "added"
            elif any(getattr(row, k) != v for k, v in spec.items()):
                for key, value in spec.items():
                    setattr(row, key, value)
                row.next_run = cron.schedule.next_after(None, now)
                row.save(using=using)
                report[cron.name] = "updated"
            else:
                report[cron.name] = "kept"
        for name in rows:
            CronRun.objects.using(using).filter(name=name).delete()
            report[name] = "removed"
    return report


def next_due(using: str = "default") -> float | None:
    """When the next cron is due (ms), or None if there are none."""
    return (
        CronRun.objects.using(using)
        .filter(paused=False)
        .order_by("next_run")
        .values_list("next_run", flat=True)
        .first()
    )


def run_due(
    crons: dict[str, Cron], using: str = "default", now: float | None = None
) -> list[tuple[str, str]]:
    """Schedule every due cron's run; returns (name, what happened) for each due cron."""
    now = clock.now_ms() if now is None else now
    done: list[tuple[str, str]] = []
    with transaction.atomic(using=using):
        due = list(
            CronRun.objects.using(using)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("last_scheduled")
            .filter(next_run__lte=now, paused=False)
            .order_by("next_run")
        )
        for row in due:
            cron = crons.get(row.name)
            if cron is None:
                continue  # declared by another version of the code; its worker runs it
            done.append((row.name, _fire(row, cron, using, now)))
            row.next_run = _next(cron, row.next_run, now)
            row.save(using=using)
    return done


def run_now(name: str, using: str = "default") -> str:
    """Run a cron's function now, outside its schedule (admin's "run now"); what happened."""
    declared = {c.name: c for c in discover()}
    with transaction.atomic(using=using):
        row = (
            CronRun.objects.using(using)
            .select_for_update(of=("self",))
            .select_related("last_scheduled")
            .filter(name=name)
            .first()
        )
        if row is None:
            raise ConfigurationError(f"no cron named {name!r} is registered")
        cron = declared.get(name) or Cron(name, Every(1000), _ref(row.function), decode(row.args))
        return _fire(row, cron, using, clock.now_ms())


def set_paused(names: list[str], paused: bool, using: str = "default") -> int:
    """Pause crons (they do not run on their schedule) or resume them: a resumed cron's next
    run is its first scheduled time from now, the runs it missed are not made up. How many
    crons changed."""
    declared = {c.name: c for c in discover()}
    now = clock.now_ms()
    changed = 0
    with transaction.atomic(using=using):
        rows = CronRun.objects.using(using).select_for_update(of=("self",))
        for row in rows.filter(name__in=names).exclude(paused=paused):
            row.paused = paused
            cron = declared.get(row.name)
            if not paused and cron is not None:
                row.next_run = cron.schedule.next_after(None, now)
            elif not paused:
                row.next_run = max(row.next_run, now)
            row.save(using=using, update_fields=["paused", "next_run"])
            changed += 1
    return changed


def _fire(row: Any, cron: Cron, using: str, now: float) -> str:
    last = row.last_scheduled
    if last is not None and last.state in UNFINISHED:
        row.skipped += 1
        row.save(using=using, update_fields=["skipped"])
        logger.warning(
            "cron %r: skipped, its previous run (%s) is still %s", row.name, last.pk, last.state
        )
        return f"skipped: the previous run is still {last.state}"
    new_id = _scheduler(row.name, using, now).run_at(max(now, 1e11), cron.ref, cron.args)
    row.last_run = now
    row.last_scheduled_id = pk_of(TABLE, new_id)
    row.save(using=using, update_fields=["last_run", "last_scheduled"])
    return "scheduled"


def _next(cron: Cron, previous_due: float, now: float) -> float:
    """The next run after this one. Runs missed while no worker was up collapse into the one
    just made: the next is the first scheduled time after now."""
    if isinstance(cron.schedule, Every):
        following = previous_due + cron.schedule.ms
        return following if following > now else now + cron.schedule.ms
    return cron.schedule.next_after(previous_due, now)


def _ref(path: str) -> Any:
    module, _, name = path.partition(":")
    return FunctionReference((*module.split("/"), name), internal=True)
