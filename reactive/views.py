"""HTTP endpoints of Convex's API → the executor. JSON in, JSON out; nothing else.

The views are async so that the ASGI server does not funnel every call through Django's one
sync thread: each call runs the (synchronous, ORM-using) executor in a worker thread via
`functions.context.run_off_loop`, which closes stale connections around it.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import clock
from .auth import Identity, identity_from_user, jwt, tokens
from .conf import reactive_settings
from .errors import RequestError
from .functions.context import run_off_loop
from .functions.executor import execute
from .functions.registry import Kind
from .http_api import outcome_body, parse_call, parse_ts, run_path_from_url
from .storage.origin import remember_request
from .sync.protocol import encode_ts

logger = logging.getLogger("reactive.sync")

ASGI_FIX = (
    "Live queries need all of: the project's asgi.py routing WebSockets to reactive "
    '(application = ProtocolTypeRouter({"http": get_asgi_application(), "websocket": '
    "reactive.routing.sync_application()})), ASGI_APPLICATION naming it, an ASGI server with "
    "WebSocket support (daphne first in INSTALLED_APPS for runserver; daphne, granian or "
    "uvicorn[standard]), and any proxy passing WebSocket upgrades. See "
    "docs/troubleshooting.md#asgi."
)


def _json(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, separators=(",", ":"), allow_nan=False),
        status=status,
        content_type="application/json",
    )


def _cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        response["Vary"] = "Origin"
    if request.method == "OPTIONS":
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS, PATCH, DELETE, PUT"
        response["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", "Content-Type, Authorization, Convex-Client"
        )
        response["Access-Control-Max-Age"] = "86400"
    return response


def _session_allowed(request: HttpRequest) -> bool:
    """Use the session cookie only for same-origin (or trusted) requests: no cross-site calls
    made with a visitor's cookie (CSRF), since these endpoints are CSRF-exempt for the clients."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    trusted = set(getattr(settings, "CSRF_TRUSTED_ORIGINS", [])) | set(
        reactive_settings.CORS_TRUSTED_ORIGINS
    )
    if origin in trusted:
        return True
    try:
        return urlsplit(origin).netloc == request.get_host()
    except Exception:
        return False


async def _identity(request: HttpRequest) -> Identity | None:
    """A Bearer token's identity (`RequestError` 401 if it is not valid), else the session's."""
    header = request.headers.get("Authorization")
    if header is not None:
        token = jwt.bearer_token(header)
        # in a thread: a JWKS URL may be fetched (an unknown kid)
        return await sync_to_async(jwt.verify, thread_sensitive=False)(token)
    return await _session_identity(request)


async def _session_identity(request: HttpRequest) -> Identity | None:
    if not _session_allowed(request) or not hasattr(request, "auser"):
        return None
    user = await request.auser()
    return identity_from_user(user, reactive_settings.SESSION_ISSUER)


async def _handle(
    request: HttpRequest,
    kind: Kind | None,
    path: str | None = None,
    default_format: str | None = None,
    at_ts: bool = False,
) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    if request.method != "POST":
        return _cors(
            request, _json({"code": "MethodNotAllowed", "message": "Use POST"}, status=405)
        )
    try:
        limit = reactive_settings.MAX_REQUEST_BYTES
        # read() rather than .body: .body enforces DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, meant
        # for form parsing) instead of MAX_REQUEST_BYTES, Convex's 16 MiB argument limit.
        body = request.read(limit + 1)
        if len(body) > limit:
            raise RequestError("RequestTooLarge", f"The request body is over {limit} bytes", 413)
        call = parse_call(body, path=path, default_format=default_format)
        if at_ts:
            # Postgres cannot read the past: the query runs at a snapshot taken now, which holds
            # everything committed before `ts` was issued (and maybe more). See docs/http-api.md.
            parse_ts(body)
        identity = await _identity(request)
    except RequestError as exc:
        return _cors(request, _json({"code": exc.code, "message": exc.message}, status=exc.status))
    remember_request(request)  # the origin of ctx.storage's absolute URLs, without base_url
    outcome = await run_off_loop(
        execute, call.path, call.args, identity=identity, from_client=True, kind=kind
    )
    return _cors(request, _json(outcome_body(outcome, call.format)))


@csrf_exempt
async def query_view(request: HttpRequest) -> HttpResponse:
    return await _handle(request, Kind.QUERY)


@csrf_exempt
async def query_ts_view(request: HttpRequest) -> HttpResponse:
    """A timestamp for `/api/query_at_ts` (`ConvexHttpClient.consistentQuery`)."""
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    if request.method != "POST":
        return _cors(request, _json({"code": "MethodNotAllowed", "message": "Use POST"}, 405))
    return _cors(request, _json({"ts": encode_ts(clock.next_ts())}))


@csrf_exempt
async def query_at_ts_view(request: HttpRequest) -> HttpResponse:
    return await _handle(request, Kind.QUERY, at_ts=True)


@csrf_exempt
async def mutation_view(request: HttpRequest) -> HttpResponse:
    return await _handle(request, Kind.MUTATION)


@csrf_exempt
async def action_view(request: HttpRequest) -> HttpResponse:
    return await _handle(request, Kind.ACTION)


@csrf_exempt
async def function_view(request: HttpRequest) -> HttpResponse:
    return await _handle(request, None)


@csrf_exempt
async def run_view(request: HttpRequest, fn_path: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    try:
        path = run_path_from_url(fn_path)
    except RequestError as exc:
        return _cors(request, _json({"code": exc.code, "message": exc.message}, exc.status))
    return await _handle(request, None, path=path, default_format="json")


@csrf_exempt
async def token_view(request: HttpRequest) -> HttpResponse:
    """A short-lived JWT for the session's user (`client.setAuth(fetchToken)`), 401 without one.

    It reads the session only for same-origin (or trusted) requests, as the API does, and writes
    nothing, so it needs no CSRF token; the answer is never cached."""
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    if request.method not in ("GET", "POST"):
        return _cors(
            request, _json({"code": "MethodNotAllowed", "message": "Use GET or POST"}, 405)
        )
    identity = await _session_identity(request)
    if identity is None:
        body = {"code": "Unauthenticated", "message": "Log in to get a token."}
        response = _json(body, status=401)
    else:
        user = await request.auser()
        token, expires_at = tokens.issue_token(user)
        response = _json({"token": token, "expiresAt": expires_at})
    response["Cache-Control"] = "no-store"
    return _cors(request, response)


def sync_over_http_cause(request: HttpRequest) -> str:
    """Why a WebSocket handshake reached Django's HTTP handler, told by what arrived: under WSGI
    the server cannot serve WebSockets; under ASGI with the Upgrade header, the ASGI server has
    no WebSocket support (so asgi.py may well be right); without it, a proxy dropped it."""
    if not hasattr(request, "scope"):  # WSGIRequest
        return "this server is a WSGI one, which cannot serve WebSockets"
    if "websocket" in request.headers.get("Upgrade", "").lower():
        return (
            "the ASGI server handed a WebSocket handshake to the HTTP handler: it has no "
            "WebSocket support (uvicorn needs the websockets or wsproto package: pip install "
            "'uvicorn[standard]'), so asgi.py never sees it"
        )
    return (
        "the request arrived without its Upgrade header: a proxy in front of the server does "
        "not pass WebSocket upgrades (nginx: proxy_http_version 1.1; proxy_set_header Upgrade "
        '$http_upgrade; proxy_set_header Connection "upgrade")'
    )


async def sync_over_http_view(request: HttpRequest, client_version: str = "") -> HttpResponse:
    """The sync path reached as plain HTTP: the WebSocket upgrade of an official client went to
    Django's HTTP handler (a WSGI server, an ASGI server without WebSocket support, or a proxy
    that drops upgrades; an ASGI application that routes no WebSockets gets a 500 from the
    server instead, and system check W011). Answer 426 naming the cause and the fix, and log it,
    instead of a silent 404."""
    cause = sync_over_http_cause(request)
    logger.error(
        "A WebSocket client reached %s over plain HTTP, so live queries cannot work: %s. %s",
        request.path,
        cause,
        ASGI_FIX,
    )
    return HttpResponse(
        f"426 Upgrade Required: {request.path} is reactive's WebSocket sync endpoint, and {cause}."
        f" {ASGI_FIX}\n",
        status=426,
        content_type="text/plain; charset=utf-8",
    )  # no Upgrade header: hop-by-hop, which WSGI servers refuse to send
