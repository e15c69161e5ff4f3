"""What the admin pages share: a read-only `ModelAdmin`, how they show a time, and
`ReactiveModelAdmin` for a project's own `ReactiveModel` tables."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.utils import timezone


def when(ms: float | None) -> str:
    """A time in ms since the epoch (``_creationTime``, scheduled times) as a date in the
    current time zone (``TIME_ZONE``, or the one activated for the request)."""
    if ms is None:
        return "-"
    moment = dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.UTC)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


if TYPE_CHECKING:  # ModelAdmin is generic in django-stubs only (not subscriptable at run time)
    ModelAdmin = admin.ModelAdmin[Any]
else:
    ModelAdmin = admin.ModelAdmin


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class ReactiveModelAdmin(ModelAdmin):
    """A `ModelAdmin` for a `ReactiveModel`: ``creation_time`` (``_creationTime``, ms since the
    epoch) is shown as a date wherever it is listed (``list_display``) and on each document's
    page, sortable by that column."""

    def get_list_display(self, request: Any) -> Any:
        shown = super().get_list_display(request)
        return [("created" if name == "creation_time" else name) for name in shown]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        return [("created" if name == "creation_time" else name) for name in fields] + (
            [] if "created" in fields or "creation_time" in fields else ["created"]
        )

    @admin.display(description="created", ordering="creation_time")
    def created(self, obj: Any) -> str:
        return when(getattr(obj, "creation_time", None))
