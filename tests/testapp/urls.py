from __future__ import annotations

import json

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model, login
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .models import Counter, Message


@csrf_exempt
def test_login(request: HttpRequest) -> HttpResponse:
    """Log in as a (created-on-demand) user: for testing the session identity."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username=request.GET["username"], defaults={"email": request.GET["username"] + "@x.test"}
    )
    login(request, user)
    return JsonResponse({"ok": True})


def plain_latest(request: HttpRequest) -> JsonResponse:
    """A plain Django view doing the same read as testapp/messages:latest (benchmark baseline)."""
    rows = Message.objects.order_by("-creation_time")[:10]
    return JsonResponse({"value": [{"body": m.body, "author": m.author} for m in rows]})


def _bump_counter(name: str, serializable: bool) -> int:
    with transaction.atomic():
        if serializable:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        row = Counter.objects.get(name=name)
        row.value += 1
        row.save(update_fields=["value"])
    return row.value


@csrf_exempt
async def plain_bump(request: HttpRequest) -> JsonResponse:
    """A plain Django view doing the write of testapp/bench:bump (benchmark baseline): select the
    counter by name, save value + 1, in one `transaction.atomic()` at the database's default
    isolation (READ COMMITTED), or SERIALIZABLE with ``?isolation=serializable`` (what reactive's
    mutations run at, without their retry loop).

    Async, with the ORM work in a pooled thread (`sync_to_async(thread_sensitive=False)`), as
    reactive's own views run the executor: a sync view under ASGI gets a new thread per request,
    hence a new database connection per request, and the comparison would measure that."""
    name = json.loads(request.body)["name"]
    serializable = request.GET.get("isolation") == "serializable"
    value = await database_sync_to_async(_bump_counter, thread_sensitive=False)(name, serializable)
    return JsonResponse({"value": value})


def _plain_save(request: HttpRequest) -> str:
    return default_storage.save("plain-bench/upload", File(request, name="upload"))


@csrf_exempt
async def plain_upload(request: HttpRequest) -> JsonResponse:
    """A plain Django view saving the raw body through the default storage (benchmark baseline
    of the upload URL): the same storage and the same worker-thread pool, no token, no hash,
    no row."""
    name = await database_sync_to_async(_plain_save, thread_sensitive=False)(request)
    return JsonResponse({"name": name})


def plain_file(request: HttpRequest, name: str) -> FileResponse:
    """A plain Django `FileResponse` of a file in the default storage (benchmark baseline of a
    file URL)."""
    try:
        return FileResponse(default_storage.open(f"plain-bench/{name}", "rb"))
    except FileNotFoundError:
        raise Http404(name) from None


urlpatterns = [
    path("test/login", test_login),
    path("test/plain_latest", plain_latest),
    path("test/plain_bump", plain_bump),
    path("test/plain_upload", plain_upload),
    path("test/plain_file/<str:name>", plain_file),
]
