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
    epoch) is shown as a date wherever it is listed (``list_display``, as "created") and on each
    document's page, sortable by that column; so is every field named in ``ms_time_fields``
    (your own times in ms since the epoch, as Convex code writes them), under its own name and
    read-only on the document's page."""

    #: Your own fields holding ms since the epoch (``FloatField``), shown as dates.
    ms_time_fields: tuple[str, ...] = ()

    def __init__(self, model: Any, admin_site: Any) -> None:
        super().__init__(model, admin_site)
        for name in self.ms_time_fields:
            setattr(self, _column(name), _date_of(name))

    def get_list_display(self, request: Any) -> Any:
        shown = super().get_list_display(request)
        return [self._as_date(name) for name in shown]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        fields = [self._as_date(name) for name in super().get_readonly_fields(request, obj)]
        dates = [_column(name) for name in ("creation_time", *self.ms_time_fields)]
        return fields + [name for name in dates if name not in fields]

    def get_exclude(self, request: Any, obj: Any = None) -> Any:
        return [*(super().get_exclude(request, obj) or ()), *self.ms_time_fields]

    def get_fields(self, request: Any, obj: Any = None) -> Any:
        fields = [self._as_date(name) for name in super().get_fields(request, obj)]
        return list(dict.fromkeys(fields))

    def _as_date(self, name: Any) -> Any:
        dated = name == "creation_time" or name in self.ms_time_fields
        return _column(name) if dated else name

    @admin.display(description="created", ordering="creation_time")
    def created(self, obj: Any) -> str:
        return when(getattr(obj, "creation_time", None))


def _column(name: str) -> str:
    """The admin column showing field ``name`` as a date."""
    return "created" if name == "creation_time" else f"{name}_date"


def _date_of(name: str) -> Any:
    @admin.display(description=name.replace("_", " "), ordering=name)
    def shown(obj: Any) -> str:
        return when(getattr(obj, name, None))

    return shown
