"""Crons declared in code: `CronJobs`, and the schedules that say when each runs next.

In an app's ``crons.py`` (the module name is ``REACTIVE["SCHEDULER"]["crons_module"]``)::

    from reactive import CronJobs
    from reactive.functions.references import internal

    crons = CronJobs()
    crons.interval("clear presence", {"minutes": 5}, internal.presence.clear)
    crons.daily("digest", {"hour_utc": 7, "minute_utc": 30}, internal.mail.digest, {"all": True})
    crons.cron("billing", "0 16 1 * *", internal.billing.run)

As in Convex: names are unique; an interval cron first runs when it is registered; the others
run at their times (UTC); a run is skipped while the previous run of the same cron is still
pending or in progress; runs missed while no worker was up are made up by one run, not one per
missed time. The same schedules accept Convex's camelCase keys (``hourUTC``, ``minuteUTC``,
``dayOfWeek``).
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import math
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from croniter import CroniterBadDateError, croniter
from django.apps import apps

from ..conf import reactive_settings
from ..errors import ConfigurationError
from ..functions.references import FunctionReference

DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
ALIASES = {"hourUTC": "hour_utc", "minuteUTC": "minute_utc", "dayOfWeek": "day_of_week"}


@dataclass(frozen=True)
class Every:
    """An interval: the first run when registered, then every ``ms``."""

    ms: float

    def next_after(self, last_ms: float | None, now_ms: float) -> float:
        return now_ms if last_ms is None else last_ms + self.ms

    def __str__(self) -> str:
        seconds = self.ms / 1000.0
        return f"every {seconds:g} s"


@dataclass(frozen=True)
class CronExpr:
    """A five-field cron expression, evaluated in UTC."""

    expr: str

    def next_after(self, last_ms: float | None, now_ms: float) -> float:
        base = dt.datetime.fromtimestamp(now_ms / 1000.0, tz=dt.UTC)
        after: float = croniter(self.expr, base).get_next(float)  # croniter is untyped
        return after * 1000.0

    def __str__(self) -> str:
        return f"cron {self.expr}"


@dataclass(frozen=True)
class Cron:
    name: str
    schedule: Every | CronExpr
    ref: FunctionReference
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.ref.path


class CronJobs:
    """A set of crons (see the module docstring). The worker registers every `CronJobs` found
    in the installed apps' crons modules at start."""

    def __init__(self) -> None:
        self._crons: dict[str, Cron] = {}

    def __iter__(self) -> Iterator[Cron]:
        return iter(self._crons.values())

    def __len__(self) -> int:
        return len(self._crons)

    def interval(
        self,
        name: str,
        schedule: dict[str, float],
        ref: FunctionReference,
        args: dict[str, Any] | None = None,
    ) -> Cron:
        """Every ``{"seconds": s}``, ``{"minutes": m}`` or ``{"hours": h}`` (one key)."""
        opts = self._options(name, schedule, {"seconds", "minutes", "hours"})
        if len(opts) != 1:
            raise ConfigurationError(
                f"cron {name!r}: give exactly one of seconds, minutes, "
                f"hours; got {sorted(opts) or 'none'}"
            )
        ((unit, amount),) = opts.items()
        ms = (
            self._number(name, unit, amount)
            * {"seconds": 1e3, "minutes": 6e4, "hours": 3.6e6}[unit]
        )
        if ms < 1000:
            raise ConfigurationError(f"cron {name!r}: the interval must be at least 1 second")
        return self._add(name, Every(ms), ref, args)

    def cron(
        self, name: str, expression: str, ref: FunctionReference, args: dict[str, Any] | None = None
    ) -> Cron:
        """A cron expression (``"minute hour day-of-month month day-of-week"``, UTC)."""
        if (
            not isinstance(expression, str)
            or len(expression.split()) != 5
            or not croniter.is_valid(expression)
        ):
            raise ConfigurationError(
                f"cron {name!r}: {expression!r} is not a five-field cron "
                "expression (minute 0-59, hour 0-23, day 1-31, month "
                "1-12, weekday 0-6)"
            )
        try:  # valid fields can still name no date at all (February 30th)
            CronExpr(expression).next_after(None, 0.0)
        except CroniterBadDateError:
            raise ConfigurationError(
                f"cron {name!r}: {expression!r} never matches a date"
            ) from None
        return self._add(name, CronExpr(expression), ref, args)

    def hourly(
        self,
        name: str,
        schedule: dict[str, int],
        ref: FunctionReference,
        args: dict[str, Any] | None = None,
    ) -> Cron:
        """At ``{"minute_utc": m}`` past every hour."""
        opts = self._options(name, schedule, {"minute_utc"}, required={"minute_utc"})
        minute = self._int(name, "minute_utc", opts["minute_utc"], 0, 59)
        return self._add(name, CronExpr(f"{minute} * * * *"), ref, args)

    def daily(
        self,
        name: str,
        schedule: dict[str, int],
        ref: FunctionReference,
        args: dict[str, Any] | None = None,
    ) -> Cron:
        """At ``{"hour_utc": h, "minute_utc": m}`` every day."""
        h, m = self._time(name, schedule, set())
        return self._add(name, CronExpr(f"{m} {h} * * *"), ref, args)

    def weekly(
        self,
        name: str,
        schedule: dict[str, Any],
        ref: FunctionReference,
        args: dict[str, Any] | None = None,
    ) -> Cron:
        """At ``{"day_of_week": "monday", "hour_utc": h, "minute_utc": m}`` every week."""
        h, m = self._time(name, schedule, {"day_of_week"})
        day = str(schedule.get("day_of_week", schedule.get("dayOfWeek", ""))).lower()
        if day not in DAYS:
            raise ConfigurationError(f"cron {name!r}: day_of_week must be one of {DAYS}")
        return self._add(name, CronExpr(f"{m} {h} * * {DAYS.index(day)}"), ref, args)

    def monthly(
        self,
        name: str,
        schedule: dict[str, Any],
        ref: FunctionReference,
        args: dict[str, Any] | None = None,
    ) -> Cron:
        """At ``{"day": d, "hour_utc": h, "minute_utc": m}`` every month (days 1–31; a month
        without that day has no run, as in cron)."""
        h, m = self._time(name, schedule, {"day"})
        day = self._int(name, "day", schedule.get("day"), 1, 31)
        return self._add(name, CronExpr(f"{m} {h} {day} * *"), ref, args)

    # -- internals ---------------------------------------------------------------------
    def _add(
        self,
        name: str,
        schedule: Every | CronExpr,
        ref: FunctionReference,
        args: dict[str, Any] | None,
    ) -> Cron:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"a cron name must be a non-empty string, not {name!r}")
        if name in self._crons:
            raise ConfigurationError(f"cron {name!r} is declared twice")
        if not isinstance(ref, FunctionReference):
            raise ConfigurationError(
                f"cron {name!r}: the function must be a reference "
                f"(internal.x.y or api.x.y), not {ref!r}"
            )
        if args is not None and not isinstance(args, dict):
            raise ConfigurationError(f"cron {name!r}: args must be a dict")
        cron = Cron(name, schedule, ref, dict(args or {}))
        self._crons[name] = cron
        return cron

    def _options(
        self, name: str, schedule: Any, allowed: set[str], required: AbstractSet[str] = frozenset()
    ) -> dict[str, Any]:
        if not isinstance(schedule, dict):
            raise ConfigurationError(
                f"cron {name!r}: the schedule must be a dict like "
                f"{{{', '.join(repr(k) + ': …' for k in sorted(allowed))}}}"
            )
        opts: dict[str, Any] = {(ALIASES[k] if k in ALIASES else k): v for k, v in schedule.items()}
        unknown = sorted(set(opts) - allowed)
        if unknown:
            raise ConfigurationError(
                f"cron {name!r}: unknown schedule key(s) {unknown}; expected {sorted(allowed)}"
            )
        missing = sorted(required - set(opts))
        if missing:
            raise ConfigurationError(f"cron {name!r}: missing schedule key(s) {missing}")
        return opts

    def _time(self, name: str, schedule: Any, extra: set[str]) -> tuple[int, int]:
        opts = self._options(
            name,
            schedule,
            {"hour_utc", "minute_utc", *extra},
            required={"hour_utc", "minute_utc", *extra},
        )
        return (
            self._int(name, "hour_utc", opts["hour_utc"], 0, 23),
            self._int(name, "minute_utc", opts["minute_utc"], 0, 59),
        )

    @staticmethod
    def _number(name: str, key: str, value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ConfigurationError(
                f"cron {name!r}: {key} must be a positive number, got {value!r}"
            )
        return float(value)

    @staticmethod
    def _int(name: str, key: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigurationError(
                f"cron {name!r}: {key} must be an integer from {low} to {high}, got {value!r}"
            )
        checked: int = value
        return checked


def discover(errors: list[str] | None = None) -> list[Cron]:
    """Every cron declared in the installed apps' crons modules (``crons = CronJobs()``), and in
    the ``FUNCTIONS_ROOT`` package's (``<root>/crons.py``, where Convex has ``convex/crons.ts``).

    With ``errors``, a crons module that fails to import and a name declared twice are added to
    it, one line each, instead of raised (the system check reports them).
    """

    def fail(message: str) -> None:
        if errors is None:
            raise ConfigurationError(message)
        errors.append(message)

    module_name = reactive_settings.lenient.SCHEDULER.crons_module
    found: dict[str, Cron] = {}
    places = [config.name for config in apps.get_app_configs()]
    root = reactive_settings.lenient.FUNCTIONS_ROOT
    if root and root not in places:  # Convex keeps its crons in convex/crons.ts
        places.append(root)
    for place in places:
        dotted = f"{place}.{module_name}"
        module = _crons_module(dotted, fail, errors)
        if module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, CronJobs):
                for cron in value:
                    if cron.name in found:
                        fail(f"cron {cron.name!r} is declared twice (again in {dotted})")
                        continue
                    found[cron.name] = cron
    return list(found.values())


def _crons_module(
    dotted: str, fail: Callable[[str], None], errors: list[str] | None
) -> ModuleType | None:
    """The module ``dotted``, or None if there is none or it failed to import (said to ``fail``
    or added to ``errors``, as `discover` describes)."""
    try:
        spec = importlib.util.find_spec(dotted)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return None
    try:
        return importlib.import_module(dotted)
    except ConfigurationError as exc:  # a declaration refused; it names the cron
        fail(f"{dotted}: {exc}")
    except Exception as exc:
        if errors is None:
            raise
        text = str(exc).strip().splitlines()
        errors.append(
            f"{dotted} cannot be imported: {type(exc).__name__}{': ' + text[0] if text else ''}"
        )
    return None
