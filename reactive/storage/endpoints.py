"""The HTTP endpoints of file storage: the upload URL (POST) and the file URL (GET).

``POST /api/storage/upload?token=…`` with the file as the raw body (its type in
``Content-Type``), as the official clients' upload flow sends it, answers
``{"storageId": "…"}``; errors are ``{"code", "message"}`` with a 4xx status and store nothing.
``GET /api/storage/<storage id>`` serves the file: a redirect to the storage's own URL where it
has one (S3), else the bytes, with ``ETag``, ``Content-Length`` and single ``Range`` requests.
Both answer any origin (CORS): the URLs are bearer capabilities, used without cookies.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Generator
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from ..conf import reactive_settings
from ..errors import LimitExceeded, RequestError
from ..functions.context import run_off_loop
from . import files, ranges, rows
from .signing import Token, read_token

_DONE = object()
#: The share of uploads that also delete expired used tokens (a statement each time otherwise).
PRUNE_EVERY = 1 / 64


def _json(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type="application/json")


def _error(exc: RequestError) -> HttpResponse:
    return _json({"code": exc.code, "message": exc.message}, exc.status)


_R = TypeVar("_R", bound=HttpResponseBase)


def _cors(request: HttpRequest, response: _R) -> _R:
    response["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", "Content-Type, Range"
        )
        response["Access-Control-Max-Age"] = "86400"
    else:
        response["Access-Control-Expose-Headers"] = "Content-Range, Content-Length, ETag"
    return response


def _store(request: HttpRequest, token: Token, limit: int, declared: int | None) -> str:
    # A used URL is refused by the row's transaction in any case; a large (or unknown) body
    # is checked first too, so as not to write megabytes only to delete them.
    large = declared is None or declared > reactive_settings.STORAGE.chunk_bytes
    if large and rows.token_used(token.nonce):
        raise RequestError("UploadUrlUsed", "The upload URL was already used", 409)
    content_type = request.META.get("CONTENT_TYPE") or None
    problem = rows.content_type_problem(content_type)
    if problem is not None:
        raise RequestError("InvalidContentType", f"The Content-Type is refused: {problem}", 400)
    try:
        written = files.write(request, "upload", limit)
    except LimitExceeded:
        raise RequestError("FileTooLarge", f"The file is over {limit} bytes", 413) from None
    storage_id = rows.insert(written, content_type, (token.nonce, token.expires))
    if random.random() < PRUNE_EVERY:
        rows.prune_tokens()
    return storage_id


@csrf_exempt
async def upload_view(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    if request.method != "POST":
        err = RequestError("MethodNotAllowed", "POST the file's bytes to the upload URL", 405)
        return _cors(request, _error(err))
    try:
        token = read_token(request.GET.get("token"))
        limit = reactive_settings.STORAGE.max_file_bytes
        length = request.headers.get("Content-Length", "")
        declared = int(length) if length.isdigit() else None
        if declared is not None and declared > limit:
            raise RequestError("FileTooLarge", f"The file is over {limit} bytes", 413)
        storage_id = await run_off_loop(_store, request, token, limit, declared)
    except RequestError as exc:
        return _cors(request, _error(exc))
    return _cors(request, _json({"storageId": storage_id}))


async def _stream(pieces: Generator[bytes]) -> AsyncIterator[bytes]:
    """The pieces, each read in a worker thread (the event loop never waits on the disk)."""

    def step() -> Any:
        return next(pieces, _DONE)

    try:
        while (piece := await sync_to_async(step, thread_sensitive=False)()) is not _DONE:
            yield piece
    finally:
        await sync_to_async(pieces.close, thread_sensitive=False)()


@csrf_exempt
async def serve_view(request: HttpRequest, storage_id: str) -> HttpResponseBase:
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    if request.method not in ("GET", "HEAD"):
        err = RequestError("MethodNotAllowed", "GET a file's URL", 405)
        return _cors(request, _error(err))
    row = await run_off_loop(rows.find, storage_id)
    missing = RequestError("NotFound", f"There is no file {storage_id}", 404)
    if row is None:
        return _cors(request, _error(missing))
    if files.redirects():
        return _cors(request, HttpResponseRedirect(await run_off_loop(files.url, row.name)))
    etag = f'"{row.sha256}"'
    matching = request.headers.get("If-None-Match", "")
    if etag in matching or matching.strip() == "*":  # "*": any file there is (RFC 9110 §13.1.2)
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = etag
        return _cors(request, not_modified)
    header = request.headers.get("Range")
    if request.headers.get("If-Range", etag) != etag:
        header = None  # the file the client has a part of is not this one: send it whole
    wanted = ranges.parse(header, row.size)
    if wanted == ranges.UNSATISFIABLE:
        refused = _error(RequestError("RangeNotSatisfiable", "The range is past the end", 416))
        refused["Content-Range"] = f"bytes */{row.size}"
        return _cors(request, refused)
    start, length = wanted if wanted is not None else (0, row.size)
    try:
        pieces = await run_off_loop(files.opened, row.name, start, length)
    except FileNotFoundError:
        return _cors(request, _error(missing))
    if request.method == "HEAD":
        pieces.close()
        response: HttpResponseBase = HttpResponse(status=206 if wanted else 200)
    else:
        response = StreamingHttpResponse(_stream(pieces), status=206 if wanted else 200)
    response["Content-Type"] = row.content_type or "application/octet-stream"
    response["Content-Length"] = str(length)
    response["ETag"] = etag
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"  # uploaded HTML runs no script here
    if wanted is not None:
        response["Content-Range"] = f"bytes {start}-{start + length - 1}/{row.size}"
    return _cors(request, response)
