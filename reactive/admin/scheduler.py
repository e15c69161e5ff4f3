"""Scheduled functions (read-only, with cancel) and crons (with run now)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction

from ..clock import now_ms
from ..models import CronRun, ScheduledFunction
from ..scheduler import cron_table
from ..scheduler.schedule import cancel_tree
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


@admin.register(ScheduledFunction)
class ScheduledFunctionAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "kind", "state", "scheduled", "completed", "cron", "attempts")
    list_filter = ("state", "kind", DueFilter, "name", "cron")
    search_fields = ("name", "cron", "error")
    ordering = ("-scheduled_time",)
    actions = ("cancel",)
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

    @admin.action(description="Cancel the selected scheduled functions")
    def cancel(self, request: Any, queryset: Any) -> None:
        with transaction.atomic(using=queryset.db):
            count = cancel_tree(queryset.db, list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"Canceled {count} scheduled function(s) (with what they "
            "had scheduled); finished ones are left as they were.",
            messages.SUCCESS,
        )


@admin.register(CronRun)
class CronRunAdmin(ReadOnlyAdmin):
    list_display = ("name", "schedule", "function", "next", "last", "last_state", "skipped")
    readonly_fields = (
        "name",
        "schedule",
        "function",
        "args",
        "next",
        "last",
        "last_state",
        "skipped",
    )
    fields = readonly_fields
    actions = ("run_now",)

    @admin.display(description="next run", ordering="next_run")
    def next(self, obj: CronRun) -> str:
        return when(obj.next_run)

    @admin.display(description="last run", ordering="last_run")
    def last(self, obj: CronRun) -> str:
        return when(obj.last_run)

    @admin.display(description="last run's state")
    def last_state(self, obj: CronRun) -> str:
        return obj.last_scheduled.state if obj.last_scheduled is not None else "-"

    @admin.action(description="Run the selected crons now")
    def run_now(self, request: Any, queryset: Any) -> None:
        for name in queryset.values_list("name", flat=True):
            what = cron_table.run_now(name, using=queryset.db)
            self.message_user(
                request,
                f"{name}: {what}",
                messages.SUCCESS if what == "scheduled" else messages.WARNING,
            )
