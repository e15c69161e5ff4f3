"""`_storage`: the stored files, read-only, with a download for staff who may view them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html

from ..ids import encode_id
from ..models import StoredFile
from ..storage import files
from ..storage.files_table import TABLE as STORAGE_TABLE
from .base import ReadOnlyAdmin, when


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyAdmin):
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
        return when(obj.creation_time)

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
