"""How a request routed to an HTTP action is answered: one async Django view for every route.

Refusals come first, without running anything: a method not routed at the path (405 with
``Allow``; an ``OPTIONS`` preflight is answered here when the path has CORS), an origin CORS
refuses (403), a body over the cap (413, from ``Content-Length``, then while reading), a bad
Bearer token (401, `{code, message}` as the HTTP API). Then the action runs through
`functions.executor.execute` in a worker thread, as the HTTP API's calls do, with the request in
`CallOptions.http_request`. A failed call is answered 500 in Convex's shape for HTTP actions:
``{"code": "[Request ID: …] Server Error: <message>", "data": <ConvexError data>}`` (the message
as reactive shows errors to clients: an unexpected exception's is hidden outside DEBUG, and
``trace`` only in DEBUG), and logged with the action's path and the request id.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from ..auth import Identity, jwt
from ..errors import ConvexError, FunctionError, LimitExceeded, RequestError
from ..functions.context import run_off_loop
from ..functions.executor import execute
from ..functions.outcome import CallOptions, error_data, error_message
from ..storage.origin import remember_request
from .routes import Route, RouteTable

logger = logging.getLogger("reactive.http")


def _json(data: Any, status: int) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type="application/json")


async def dispatch(router: RouteTable, request: HttpRequest, route_path: str) -> HttpResponseBase:
    """Answer ``request`` for ``route_path`` (the path relative to where the router is
    mounted)."""
    method = (request.method or "GET").upper()
    route = router.lookup(route_path, method)
    if route is None:
        return _unrouted(router, request, route_path, method)
    cors = route.cors
    if cors is not None and cors.refuses(request):
        return cors.apply(request, HttpResponse(status=403))
    try:
        _read_body(request, router.max_body_bytes)
        identity = await _identity(request) if router.verify_bearer else None
    except RequestError as exc:
        response: HttpResponseBase = _json({"code": exc.code, "message": exc.message}, exc.status)
    else:
        response = await _run(router, route, request, identity)
    if method == "HEAD":
        _strip_body(response)
    return cors.apply(request, response) if cors is not None else response


def _unrouted(
    router: RouteTable, request: HttpRequest, route_path: str, method: str
) -> HttpResponseBase:
    """A path routed for other methods only: a CORS preflight, or 405 with ``Allow``."""
    methods = router.methods_at(route_path)
    wanted = request.headers.get("Access-Control-Request-Method", "").upper() or None
    cors = router.cors_at(route_path, wanted)
    if cors is not None:
        if method == "OPTIONS":  # the routed methods, as corsRouter lists them
            return cors.preflight(request, methods)
        methods.append("OPTIONS")
    if "GET" in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    response = _json(
        {
            "code": "MethodNotAllowed",
            "message": f"{method} is not routed at {route_path}; use {', '.join(methods)}",
        },
        405,
    )
    response["Allow"] = ", ".join(methods)
    return cors.apply(request, response) if cors is not None else response


def _read_body(request: HttpRequest, limit: int) -> None:
    """Read the body once, refusing one over ``limit`` bytes, and keep it for ``request.body``
    (which would otherwise apply DATA_UPLOAD_MAX_MEMORY_SIZE, a form-parsing limit)."""
    too_large = RequestError(
        "RequestTooLarge", f"The request body is over the {limit} bytes an HTTP action takes", 413
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_large
    request._body = body  # request.body / .POST read it
    request._stream = io.BytesIO(body)  # so does request.read()


async def _identity(request: HttpRequest) -> Identity | None:
    """A Bearer token's identity (401 if it is not valid); the session cookie is never used."""
    header = request.headers.get("Authorization", "")
    if header.split(" ", 1)[0].lower() != "bearer":
        return None  # Basic, a webhook's signature scheme…: the handler's business
    token = jwt.bearer_token(header)
    # in a thread: a JWKS URL may be fetched (an unknown kid)
    identity: Identity = await sync_to_async(jwt.verify, thread_sensitive=False)(token)
    return identity


async def _run(
    router: RouteTable, route: Route, request: HttpRequest, identity: Identity | None
) -> HttpResponseBase:
    fn = route.action
    remember_request(request)  # the origin of ctx.storage's absolute URLs, without base_url
    outcome = await run_off_loop(
        execute, fn, None, identity=identity, options=CallOptions(http_request=request)
    )
    for line in outcome.log_lines:
        logger.info("%s %s (%s): %s", request.method, request.path, outcome.path, line)
    if outcome.error is not None:
        return _error(outcome.error, outcome.path, request)
    response: HttpResponseBase = outcome.value
    limit = router.max_body_bytes
    if isinstance(response, StreamingHttpResponse):
        _cap_stream(response, limit, outcome.path, request)
    elif isinstance(response, HttpResponse) and len(response.content) > limit:
        error = LimitExceeded(
            f"{outcome.path}: the response body is over the {limit} bytes an HTTP action "
            f"may return ({len(response.content)} bytes)"
        )
        return _error(error, outcome.path, request)
    return response


def _error(error: FunctionError, path: str, request: HttpRequest) -> HttpResponse:
    """Convex's answer to a failed HTTP action: 500, ``code``, ``data`` for a ConvexError."""
    request_id = uuid.uuid4().hex[:16]
    message = error_message(error, clean=True)
    first, _, rest = message.partition("\n")
    shown = "Server Error" if first == "Server Error" else f"Server Error: {first}"
    body: dict[str, Any] = {"code": f"[Request ID: {request_id}] {shown}"}
    if settings.DEBUG and rest:
        body["trace"] = message
    if isinstance(error, ConvexError):
        body["data"] = error_data(error, clean=True, unencodable_as_null=True)["errorData"]
    logger.warning(
        "HTTP action %s failed on %s %s [Request ID: %s]: %s",
        path,
        request.method,
        request.path,
        request_id,
        first,
    )
    return _json(body, 500)


def _cap_stream(
    response: StreamingHttpResponse, limit: int, path: str, request: HttpRequest
) -> None:
    """Stop a streamed body that goes over ``limit``: the connection is cut, so the client sees
    an incomplete response rather than a complete-looking truncated one."""

    def over(total: int) -> LimitExceeded:
        logger.error(
            "HTTP action %s on %s %s: the streamed body went over %d bytes; cut at %d",
            path,
            request.method,
            request.path,
            limit,
            total,
        )
        return LimitExceeded(f"{path}: the response body is over {limit} bytes")

    content = response.streaming_content
    if response.is_async:

        async def capped_async(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            total = 0
            async for chunk in chunks:
                total += len(chunk)
                if total > limit:
                    raise over(total)
                yield chunk

        response.streaming_content = capped_async(content)  # type: ignore[arg-type]
        return

    def capped(chunks: Iterable[bytes]) -> Iterator[bytes]:
        total = 0
        for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise over(total)
            yield chunk

    response.streaming_content = capped(content)  # type: ignore[arg-type]


def _strip_body(response: HttpResponseBase) -> None:
    """A HEAD request gets the GET route's headers and no body (as Convex serves HEAD)."""
    if isinstance(response, StreamingHttpResponse):
        response.streaming_content = iter(())
    elif isinstance(response, HttpResponse):
        if not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        response.content = b""
