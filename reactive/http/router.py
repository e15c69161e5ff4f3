"""`HttpRouter`: Convex's ``httpRouter()``, routes of HTTP actions mounted in Django's urls.

Declare it where Convex has ``convex/http.py``: an app's ``http.py``, say::

    http = HttpRouter(cors=Cors(allowed_origins=["https://app.example.com"]))
    http.route(path="/stripe", method="POST", handler=stripe_webhook)
    http.route(path_prefix="/files/", method="GET", handler=serve_file)

and mount it in the project's urls.py: ``path("", include(http.urls))`` (under a prefix too:
``path("hooks/", include(http.urls))`` serves ``/hooks/stripe``; routes stay relative).

Convex's rules hold (`routes`). A path routed only for other methods is answered 405 with
``Allow``; a path nothing is routed at is not matched at all, so the project's other urls (and
Django's 404) answer it. Every request goes through `dispatch`, which runs the route's action
through the executor.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern
from django.urls.resolvers import RegexPattern
from django.views.decorators.csrf import csrf_exempt

from .dispatch import dispatch
from .routes import RouteTable


class HttpRouter(RouteTable):
    """Routes of HTTP actions, mounted with ``include(router.urls)``. See the module docstring
    and `RouteTable` for the arguments."""

    @property
    def urls(self) -> list[URLPattern]:
        """URL patterns for ``include()``: one pattern matching the routed paths, read at each
        request (routes declared after the include are served too)."""
        router = self

        @csrf_exempt  # identity comes only from a Bearer token, never the session cookie
        async def view(request: Any, route_path: str) -> Any:
            return await dispatch(router, request, route_path)

        return [URLPattern(_RoutedPaths(self), view, name=None)]


class _RoutedPaths(RegexPattern):
    """Matches a path (relative to where the router is mounted) that some route serves."""

    def __init__(self, router: RouteTable) -> None:
        super().__init__(r"^.*\Z", name=None, is_endpoint=True)
        self.router = router

    def match(self, path: str) -> tuple[str, tuple[Any, ...], dict[str, Any]] | None:
        route_path = "/" + path
        if not self.router.knows(route_path):
            return None
        return "", (), {"route_path": route_path}

    def __str__(self) -> str:
        return "<reactive.http routes>"
