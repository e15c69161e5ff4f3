"""The admin's "Activity" page: the slowest functions with their read and write counts, recent
retried and conflicting calls, and live subscriptions per function, over every process.

The figures come from `reactive.observe` (each process flushes its own every few seconds); the
page flushes this process's first, so what it just ran shows at once. It hangs off
`FunctionStat` and is guarded by ``reactive.view_functionstat``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import F, FloatField, Max, Sum
from django.db.models.functions import Cast
from django.template.response import TemplateResponse
from django.urls import path

from ..functions.registry import registry
from ..models import ConflictEvent, FunctionStat, ProcessSubscriptions
from ..observe import flush
from .base import ReadOnlyAdmin, when

logger = logging.getLogger("reactive.admin")

WINDOWS = {5: "5 minutes", 60: "hour", 1440: "24 hours"}


def slowest(minutes: int, limit: int = 50, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Per function over the last ``minutes``: calls, errors, retries, conflicts, mean and
    largest time (ms), mean reads and writes per call; slowest mean first (``only`` these
    paths, if given)."""
    since = int(time.time() // 60) - minutes + 1
    stats = FunctionStat.objects.filter(minute__gte=since)
    rows = (
        (stats if only is None else stats.filter(path__in=only))
        .values("path")
        .annotate(
            calls_=Sum("calls"),
            errors_=Sum("errors"),
            retries_=Sum("retries"),
            conflicts_=Sum("conflicts"),
            total=Sum("total_ms"),
            max_=Max("max_ms"),
            reads_=Sum("reads"),
            writes_=Sum("writes"),
        )
        .annotate(mean=F("total") / Cast(F("calls_"), FloatField()))
        .order_by("-mean", "path")[:limit]
    )
    return [
        {
            "path": r["path"],
            "calls": r["calls_"],
            "errors": r["errors_"],
            "retries": r["retries_"],
            "conflicts": r["conflicts_"],
            "mean_ms": r["mean"],
            "max_ms": r["max_"],
            "reads": r["reads_"] / r["calls_"],
            "writes": r["writes_"] / r["calls_"],
        }
        for r in rows
    ]


def recent_conflicts(limit: int = 50, only: list[str] | None = None) -> list[dict[str, Any]]:
    events = (
        ConflictEvent.objects.all() if only is None else ConflictEvent.objects.filter(path__in=only)
    )
    return [
        {**row, "when": when(row["time"])}
        for row in events.order_by("-id").values("time", "path", "attempts", "error", "process")[
            :limit
        ]
    ]


def _public_paths(user: Any) -> list[str] | None:
    """The paths whose figures ``user`` sees: None (all) for a superuser, else the public
    functions', as on the Functions page (internal functions and HTTP actions are
    superusers')."""
    if user.is_superuser:
        return None
    return [fn.path or "" for fn in registry if not (fn.internal or fn.http or fn.inline)]


def live_subscriptions() -> tuple[list[tuple[str, int]], list[dict[str, Any]]]:
    """(path, subscriptions) over every live process, most first; and the live processes.
    Only paths naming a registered function are counted: a client may subscribe to any path
    it makes up (each gets an error), and those would fill the page."""
    now = time.time() * 1000.0
    processes = list(ProcessSubscriptions.objects.filter(expires__gte=now).order_by("process"))
    total: Counter[str] = Counter()
    shown = []
    for process in processes:
        counts = {path: n for path, n in process.counts.items() if _registered(path)}
        total.update(counts)
        shown.append(
            {
                "process": process.process,
                "heartbeat": when(process.heartbeat),
                "total": sum(counts.values()),
            }
        )
    return sorted(total.items(), key=lambda item: (-item[1], item[0])), shown


def _registered(path: str) -> bool:
    fn = registry.get(path)
    return fn is not None and not fn.inline


@admin.register(FunctionStat)
class ActivityAdmin(ReadOnlyAdmin):
    """One page; there is no object to open."""

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name="reactive_functionstat_changelist")]

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            flush.flush_now()  # this process's own figures, up to now
        except Exception as exc:  # the page shows what is there
            logger.warning("could not write this process's activity figures: %s", exc)
        try:
            minutes = int(request.GET.get("minutes", 60))
        except ValueError:
            minutes = 60
        minutes = minutes if minutes in WINDOWS else 60
        subscriptions, processes = live_subscriptions()
        only = _public_paths(request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": "Activity",
            "opts": self.opts,
            "minutes": minutes,
            "windows": WINDOWS.items(),
            "slowest": slowest(minutes, only=only),
            "conflicts": recent_conflicts(only=only),
            "subscriptions": subscriptions,
            "processes": processes,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/reactive/activity.html", context)
