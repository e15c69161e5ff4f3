"""Scheduled functions (read-only, with cancel and run now) and crons (with pause, resume and
run now).

A scheduled function has no pause: it is one call with a due time, and Convex's
`_scheduled_functions` states (which clients read) have none for it. Cancel it, or run it now.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import connections, transaction

from ..clock import now_ms
from ..models import CronRun, ScheduledFunction
from ..scheduler import cron_table
from ..scheduler.schedule import cancel_tree
from ..scheduler.states import State
from .base import ReadOnlyAdmin, when


class DueFilter(admin.SimpleListFilter):
    title = "scheduled time"
    parameter_name = "due"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("past", "In the past"),
            ("hour", "Within the next hour"),
            ("later", "Later than an hour"),
        ]

    def queryset(self, request: Any, queryset: Any) -> Any:
        now = now_ms()
        if self.value() == "past":
            return queryset.filter(scheduled_time__lte=now)
        if self.value() == "hour":
            return queryset.filter(scheduled_time__gt=now, scheduled_time__lte=now + 3.6e6)
        if self.value() == "later":
            return queryset.filter(scheduled_time__gt=now + 3.6e6)
        return queryset


class OperatedAdmin(ReadOnlyAdmin):
    """Read-only, with actions for those holding the model's change permission (Django offers
    actions naming no permission to anyone who may view the list)."""

    def has_operate_permission(self, request: Any) -> bool:
        opts = self.opts
        return bool(request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}"))


@admin.register(ScheduledFunction)
class ScheduledFunctionAdmin(OperatedAdmin):
    list_display = ("id", "name", "kind", "state", "scheduled", "completed", "cron", "attempts")
    list_filter = ("state", "kind", DueFilter, "name", "cron")
    search_fields = ("name", "cron", "error")
    ordering = ("-scheduled_time",)
    actions = ("cancel", "run_now")
    readonly_fields = (
        "name",
        "kind",
        "args",
        "scheduled",
        "completed",
        "state",
        "error",
        "attempts",
        "cron",
        "origin",
        "job_id",
    )
    fields = readonly_fields

    @admin.display(description="scheduled", ordering="scheduled_time")
    def scheduled(self, obj: ScheduledFunction) -> str:
        return when(obj.scheduled_time)

    @admin.display(description="completed", ordering="completed_time")
    def completed(self, obj: ScheduledFunction) -> str:
        return when(obj.completed_time)

    @admin.action(description="Cancel the selected scheduled functions", permissions=["operate"])
    def cancel(self, request: Any, queryset: Any) -> None:
        with transaction.atomic(using=queryset.db):
            count = cancel_tree(queryset.db, list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"Canceled {count} scheduled function(s) (with what they "
            "had scheduled); finished ones are left as they were.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Run the selected pending scheduled functions now", permissions=["operate"]
    )
    def run_now(self, request: Any, queryset: Any) -> None:
        moved = run_pending_now(queryset.db, list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"{moved} pending scheduled function(s) moved to now; the worker runs them next "
            "(the others had started or finished).",
            messages.SUCCESS if moved else messages.WARNING,
        )


def run_pending_now(using: str, pks: list[int]) -> int:
    """Make pending scheduled functions due now: their jobs not yet taken by a worker are moved
    to now, and so is each row's scheduled time. How many moved."""
    now = now_ms()
    moved = 0
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        rows = ScheduledFunction.objects.using(using).select_for_update(of=("self",))
        for pk, job_id in rows.filter(pk__in=pks, state=State.PENDING).values_list("pk", "job_id"):
            cursor.execute(
                "UPDATE procrastinate_jobs SET scheduled_at = now() "
                "WHERE id = %s AND status = 'todo'",
                [job_id],
            )
            if cursor.rowcount == 1:
                rows.filter(pk=pk).update(scheduled_time=now)
                moved += 1
    return moved


@admin.register(CronRun)
class CronRunAdmin(OperatedAdmin):
    list_display = (
        "name",
        "schedule",
        "function",
        "paused",
        "next",
        "last",
        "last_state",
        "skipped",
    )
    list_filter = ("paused",)
    readonly_fields = (
        "name",
        "schedule",
        "function",
        "args",
        "next",
        "last",
        "last_state",
        "skipped",
        "paused",
    )
    fields = readonly_fields
    actions = ("run_now", "pause", "resume")

    @admin.display(description="next run", ordering="next_run")
    def next(self, obj: CronRun) -> str:
        # a paused cron's stored next run is stale (it is computed afresh on resume)
        return "- (paused)" if obj.paused else when(obj.next_run)

    @admin.display(description="last run", ordering="last_run")
    def last(self, obj: CronRun) -> str:
        return when(obj.last_run)

    @admin.display(description="last run's state")
    def last_state(self, obj: CronRun) -> str:
        return obj.last_scheduled.state if obj.last_scheduled is not None else "-"

    @admin.action(description="Run the selected crons now", permissions=["operate"])
    def run_now(self, request: Any, queryset: Any) -> None:
        for name in queryset.values_list("name", flat=True):
            what = cron_table.run_now(name, using=queryset.db)
            self.message_user(
                request,
                f"{name}: {what}",
                messages.SUCCESS if what == "scheduled" else messages.WARNING,
            )

    @admin.action(description="Pause the selected crons", permissions=["operate"])
    def pause(self, request: Any, queryset: Any) -> None:
        names = list(queryset.values_list("name", flat=True))
        count = cron_table.set_paused(names, True, using=queryset.db)
        self.message_user(request, f"Paused {count} cron(s); run now still runs them once.")

    @admin.action(description="Resume the selected crons", permissions=["operate"])
    def resume(self, request: Any, queryset: Any) -> None:
        names = list(queryset.values_list("name", flat=True))
        count = cron_table.set_paused(names, False, using=queryset.db)
        self.message_user(
            request, f"Resumed {count} cron(s); each runs next at its next scheduled time."
        )
