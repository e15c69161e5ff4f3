"""CORS for HTTP actions, as convex-helpers' ``corsRouter`` does it: `Cors` is its config.

Given to `HttpRouter(cors=...)` (every route) or to one `route(..., cors=...)`, it answers
``OPTIONS`` preflights for every routed path with the methods routed there, and adds the CORS
headers to every response of those routes:

- ``Access-Control-Allow-Origin`` echoes the request's ``Origin`` when it is allowed (``"*"``
  allows any origin; ``"*.example.com"`` allows ``https://`` ``example.com`` and its
  subdomains), and is absent otherwise (the browser then refuses the response); with
  ``enforce_allowed_origins`` a request from another origin is answered 403 without running;
- ``Vary: Origin`` always (the answer depends on the origin), ``Access-Control-Allow-Credentials:
  true`` with ``allow_credentials``, ``Access-Control-Expose-Headers`` unless empty;
- a preflight also gets ``Access-Control-Allow-Methods``, ``-Allow-Headers`` and ``-Max-Age``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers

#: Exposed by default, for Range requests (convex-helpers' DEFAULT_EXPOSED_HEADERS).
DEFAULT_EXPOSED_HEADERS = ("Content-Range", "Accept-Ranges")


@dataclass(frozen=True)
class Cors:
    """Which cross-origin requests the browser may make to a route, and what it may read."""

    #: Origins allowed (``"*"``, exact origins, ``"*.example.com"``), or a function of the
    #: request returning them.
    allowed_origins: Sequence[str] | Callable[[HttpRequest], Iterable[str]] = ("*",)
    #: Request headers a cross-origin request may send (answers the preflight).
    allowed_headers: Sequence[str] = ("Content-Type",)
    #: Response headers the page may read.
    exposed_headers: Sequence[str] = DEFAULT_EXPOSED_HEADERS
    #: Let the browser send cookies and HTTP auth (HTTP actions ignore the session cookie).
    allow_credentials: bool = False
    #: How long (seconds) the browser may cache a preflight answer.
    max_age: int = 86400
    #: Answer 403, without running the handler, to a request from an origin not allowed.
    enforce_allowed_origins: bool = False

    def allowed_origin(self, request: HttpRequest) -> str | None:
        """The value of ``Access-Control-Allow-Origin`` for this request, None to send none."""
        origin = request.headers.get("Origin")
        if not origin:
            return None
        allowed = (
            self.allowed_origins(request)
            if callable(self.allowed_origins)
            else self.allowed_origins
        )
        return origin if any(_matches(pattern, origin) for pattern in allowed) else None

    def refuses(self, request: HttpRequest) -> bool:
        """True if the request must be answered 403 (``enforce_allowed_origins``)."""
        return self.enforce_allowed_origins and self.allowed_origin(request) is None

    def apply(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """Add the CORS headers of a simple (non-preflight) response."""
        origin = self.allowed_origin(request)
        if origin is not None:
            response["Access-Control-Allow-Origin"] = origin
        patch_vary_headers(response, ["Origin"])
        if self.allow_credentials:
            response["Access-Control-Allow-Credentials"] = "true"
        if self.exposed_headers:
            response["Access-Control-Expose-Headers"] = ", ".join(self.exposed_headers)
        return response

    def preflight(self, request: HttpRequest, methods: Iterable[str]) -> HttpResponseBase:
        """The answer to an ``OPTIONS`` preflight of a path routed for ``methods``."""
        response = self.apply(request, HttpResponse(status=204))
        del response["Content-Type"]  # no body
        response["Access-Control-Allow-Methods"] = ", ".join(methods)
        response["Access-Control-Allow-Headers"] = ", ".join(self.allowed_headers)
        response["Access-Control-Max-Age"] = str(self.max_age)
        return response


def _matches(pattern: str, origin: str) -> bool:
    if pattern in ("*", origin):
        return True
    if not pattern.startswith("*."):
        return False
    try:
        url = urlsplit(origin)
    except ValueError:
        return False
    host = url.hostname or ""
    return url.scheme == "https" and (host.endswith(pattern[1:]) or host == pattern[2:])
