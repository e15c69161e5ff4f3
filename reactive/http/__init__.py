"""HTTP actions: Convex's ``httpAction`` and ``httpRouter`` (docs/http-actions.md).

`http_action` registers a ``(ctx, request) -> HttpResponse`` handler (`action`), `HttpRouter`
routes paths and prefixes to them and mounts in urls.py (`router`, over the table of `routes`),
`dispatch` answers each request through the executor, and `Cors` adds CORS (`cors`).
"""

from __future__ import annotations

from .action import http_action
from .cors import DEFAULT_EXPOSED_HEADERS, Cors
from .router import HttpRouter
from .routes import MAX_BODY_BYTES, METHODS, Route

__all__ = [
    "DEFAULT_EXPOSED_HEADERS",
    "MAX_BODY_BYTES",
    "METHODS",
    "Cors",
    "HttpRouter",
    "Route",
    "http_action",
]
