"""`UploadLimit`: refuses an oversized upload before Django has read its body.

Django's ASGI handler reads a request's whole body (into a temporary file past
``FILE_UPLOAD_MAX_MEMORY_SIZE``) before any view runs, so the upload view alone can refuse a
10 GB body only once it has been received. Wrapped around the project's HTTP application, this
answers ``413 FileTooLarge`` to a POST to the upload URL whose ``Content-Length`` is over
``REACTIVE["STORAGE"]["max_file_bytes"]`` without reading it, and cuts one without a length
(chunked) off as soon as the bytes received pass the limit: Django is told the client went
away (``http.disconnect``), so it answers nothing, and this sends the 413. Other requests pass
through untouched. The view keeps its own checks, for servers without this wrapper (WSGI).

    application = ProtocolTypeRouter({"http": UploadLimit(django_asgi), "websocket": ...})
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..conf import reactive_settings

_UPLOAD = re.compile(r"^/*api/storage/upload/?$")


class UploadLimit:
    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        if scope.get("type") != "http" or scope.get("method") != "POST":
            return await self.application(scope, receive, send)
        root = scope.get("root_path", "")
        path = scope.get("path", "")
        if not _UPLOAD.match(path[len(root) :] if root and path.startswith(root) else path):
            return await self.application(scope, receive, send)
        limit = reactive_settings.STORAGE.max_file_bytes
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            return await _refuse(send, limit)
        seen, over = 0, False

        async def counted() -> Any:
            nonlocal seen, over
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def unless_over(message: Any) -> None:
            if not over:
                await send(message)

        await self.application(scope, counted, unless_over)
        if over:
            await _refuse(send, limit)


async def _refuse(send: Any, limit: int) -> None:
    body = json.dumps({"code": "FileTooLarge", "message": f"The file is over {limit} bytes"})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"access-control-allow-origin", b"*"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
