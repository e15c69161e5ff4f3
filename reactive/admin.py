"""Django admin: scheduled functions (read-only, with cancel), crons (with run now) and stored
files (read-only, with a download link for staff)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html

from .clock import now_ms
from .ids import encode_id
from .models import CronRun, ScheduledFunction, StoredFile
from .scheduler import cron_table
from .scheduler.schedule import cancel_tree
from .storage import files
from .storage.files_table import TABLE as STORAGE_TABLE


def _when(ms: float | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


if TYPE_CHECKING:  # ModelAdmin is generic in django-stubs only (not subscriptable at run time)
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = admin.ModelAdmin


class _ReadOnly(_ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


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
class ScheduledFunctionAdmin(_ReadOnly):
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
        return _when(obj.scheduled_time)

    @admin.display(description="completed", ordering="completed_time")
    def completed(self, obj: ScheduledFunction) -> str:
        return _when(obj.completed_time)

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
class CronRunAdmin(_ReadOnly):
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
        return _when(obj.next_run)

    @admin.display(description="last run", ordering="last_run")
    def last(self, obj: CronRun) -> str:
        return _when(obj.last_run)

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


@admin.register(StoredFile)
class StoredFileAdmin(_ReadOnly):
    """`_storage`: browse the stored files; staff who may view them can download each one."""

    list_display = ("id", "storage_id", "content_type", "size", "created", "download")
    list_filter = ("content_type",)
    search_fields = ("sha256", "content_type", "name")
    ordering = ("-creation_time",)
    readonly_fields = (
        "storage_id",
        "sha256",
        "size",
        "content_type",
        "name",
        "created",
        "download",
    )
    fields = readonly_fields

    @admin.display(description="storage id")
    def storage_id(self, obj: StoredFile) -> str:
        return encode_id(STORAGE_TABLE, obj.pk)

    @admin.display(description="stored", ordering="creation_time")
    def created(self, obj: StoredFile) -> str:
        return _when(obj.creation_time)

    @admin.display(description="file")
    def download(self, obj: StoredFile) -> str:
        url = reverse("admin:reactive_storedfile_download", args=[obj.pk])
        return format_html('<a href="{}">download</a>', url)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.download_view)
        own = [path("<int:pk>/download/", view, name="reactive_storedfile_download")]
        return own + super().get_urls()

    def download_view(self, request: Any, pk: int) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = StoredFile.objects.filter(pk=pk).first()
        if obj is None:
            raise Http404("No stored file here")
        try:
            handle = files.backend().open(obj.name, "rb")
        except FileNotFoundError:
            raise Http404("The file's bytes are missing from the storage") from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=encode_id(STORAGE_TABLE, obj.pk),
            content_type=obj.content_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
