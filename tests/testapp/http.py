"""HTTP actions of the test app (tests/integration/test_http_actions.py), as Convex's
convex/http.ts: `http` is mounted at the root, `cors_http` (CORS for every route) under
``cors/`` (tests/urls.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from reactive import ConvexError, api
from reactive.functions.context import ActionCtx
from reactive.http import Cors, HttpRouter, http_action

http = HttpRouter()


def _identity(ctx: ActionCtx) -> Any:
    identity = ctx.auth.get_user_identity()
    return None if identity is None else identity.as_dict()


@http_action
def echo(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    """JSON in, JSON out, with what the handler saw of the request and its ctx."""
    return JsonResponse(
        {
            "got": json.loads(request.body or b"null"),
            "method": request.method,
            "path": request.path,
            "query": request.GET.get("q"),
            "header": request.headers.get("X-Probe"),
            "ctx": type(ctx).__name__,
            "is_action_ctx": isinstance(ctx, ActionCtx),
            "has_scheduler": ctx.scheduler is not None,
            "identity": _identity(ctx),
            "middleware": getattr(request, "test_middleware", False),
            "user_attached": hasattr(request, "user"),
        },
        status=201,
    )


http.route(path="/hooks/echo", method="POST", handler=echo)
http.route(path="/hooks/echo", method="PUT", handler=echo)


@http_action
async def whoami(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    return JsonResponse({"identity": _identity(ctx), "async": True})


http.route(path="/hooks/whoami", method="GET", handler=whoami)


@http_action
def send(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    """A webhook: store the message it carries through a mutation."""
    data = json.loads(request.body)
    message_id = ctx.run_mutation(
        api.testapp.messages.send,
        {"channel": data["channel"], "body": data["body"], "author": "hook"},
    )
    return JsonResponse({"id": message_id})


http.route(path="/hooks/send", method="POST", handler=send)


@http_action
async def asend(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    """The async twin: ``await ctx.arun_mutation``, then read back with ``arun_query``."""
    data = json.loads(request.body)
    args = {"channel": data["channel"], "body": data["body"], "author": "ahook"}
    message_id = await ctx.arun_mutation(api.testapp.messages.send, args)
    listed = await ctx.arun_query(api.testapp.messages.list, {"channel": data["channel"]})
    return JsonResponse({"id": message_id, "count": len(listed)})


http.route(path="/hooks/asend", method="POST", handler=asend)


def files(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    """A plain function routed as it is (registered as an HTTP action by `route`)."""
    return HttpResponse(f"prefix /hooks/files/ got {request.path}", content_type="text/plain")


def deep_files(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"prefix /hooks/files/deep/ got {request.path}")


def exact_file(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    return HttpResponse("exact /hooks/files/exact")


http.route(path_prefix="/hooks/files/", method="GET", handler=files)
http.route(path_prefix="/hooks/files/deep/", method="GET", handler=deep_files)
http.route(path="/hooks/files/exact", method="GET", handler=exact_file)


@http_action
def upload(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    return JsonResponse({"bytes": len(request.body), "read": len(request.read())})


http.route(path_prefix="/hooks/files/", method="POST", handler=upload)


@http_action
def boom(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    ctx.log("about to fail")
    raise RuntimeError("secret internal detail")


@http_action
def refuse(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    raise ConvexError({"code": "NOT_ALLOWED", "n": 3})


@http_action
def wrong_type(ctx: ActionCtx, request: HttpRequest) -> Any:
    return {"not": "a response"}


@http_action
def huge(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"x" * (20 * 1024 * 1024 + 1))


http.route(path="/hooks/boom", method="POST", handler=boom)
http.route(path="/hooks/refuse", method="POST", handler=refuse)
http.route(path="/hooks/wrong_type", method="GET", handler=wrong_type)
http.route(path="/hooks/huge", method="GET", handler=huge)


@http_action
async def stream(ctx: ActionCtx, request: HttpRequest) -> StreamingHttpResponse:
    """Two chunks a second apart; the last says when it was produced."""
    pause = float(request.GET.get("pause", "1.0"))

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first\n"
        await asyncio.sleep(pause)
        pong = await ctx.arun_query(api.testapp.ping, {})
        yield f"last {time.time():.6f} {pong}\n".encode()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


http.route(path="/hooks/stream", method="GET", handler=stream)


@http_action
def manual_options(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    """CORS by hand, as Convex's docs show it for HTTP actions."""
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = "https://manual.example.test"
    response["Access-Control-Allow-Methods"] = "POST"
    response["Access-Control-Allow-Headers"] = "Content-Type, Digest"
    return response


http.route(path="/hooks/manual", method="OPTIONS", handler=manual_options)
http.route(path="/hooks/manual", method="POST", handler=echo)


cors_http = HttpRouter(
    cors=Cors(
        allowed_origins=["https://app.example.test", "*.wild.test"],
        allowed_headers=["Content-Type", "Authorization"],
        exposed_headers=["X-Total"],
        allow_credentials=True,
        max_age=600,
    )
)


def data(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"method": request.method, "identity": _identity(ctx)})
    response["X-Total"] = "1"
    return response


cors_http.route(path="/data", method="GET", handler=data)
cors_http.route(path="/data", method="POST", handler=data)
cors_http.route(path_prefix="/items/", method="DELETE", handler=data)
cors_http.route(path="/fails", method="GET", handler=boom)
cors_http.route(path="/open", method="GET", handler=data, cors=Cors())
cors_http.route(path="/closed", method="GET", handler=data, cors=False)
strict_http = HttpRouter(
    cors=Cors(allowed_origins=["https://app.example.test"], enforce_allowed_origins=True)
)
strict_http.route(path="/strict", method="GET", handler=data)

#: A router with a small body cap (mounted under small/): the caps without 20 MiB bodies.
small_http = HttpRouter(max_body_bytes=1000)


@http_action
async def overflow(ctx: ActionCtx, request: HttpRequest) -> StreamingHttpResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"y" * 600

    return StreamingHttpResponse(chunks())


small_http.route(path="/overflow", method="GET", handler=overflow)
small_http.route(path="/upload", method="POST", handler=upload)


@http_action
def latest(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    """The read of testapp/messages:latest behind an HTTP action (bench/http_actions.py)."""
    return JsonResponse({"value": ctx.run_query(api.testapp.messages.latest, {})})


http.route(path="/hooks/latest", method="GET", handler=latest)


@http_action
def store_upload(ctx: ActionCtx, request: HttpRequest) -> HttpResponse:
    """Convex's "upload through an HTTP action": store the body, answer its id and URL."""
    storage_id = ctx.storage.store(request.body, content_type=request.content_type or None)
    return JsonResponse({"storageId": storage_id, "url": ctx.storage.get_url(storage_id)})


http.route(path="/hooks/store", method="POST", handler=store_upload)
