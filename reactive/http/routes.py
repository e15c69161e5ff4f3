"""The routing table of HTTP actions: Convex's ``httpRouter`` rules, no Django views here.

A route has a ``path`` (exact) or a ``path_prefix`` (starts and ends with ``/``), never both;
methods are GET, POST, PUT, DELETE, OPTIONS and PATCH (a HEAD request runs the GET route,
without the body); one handler per (path, method) and per (prefix, method), a second one is a
`ConfigurationError` at declaration. A request runs the exact route of its path and method, else
the longest prefix routed for its method (`RouteTable.lookup`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..functions.registry import AnyFunction
from .action import Handler, http_action
from .cors import Cors

#: Convex's ROUTABLE_HTTP_METHODS (HEAD is served by the GET route).
METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
#: Convex caps an HTTP action's request and response bodies at 20 MiB.
MAX_BODY_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Route:
    """One routed (path or prefix, method) and the HTTP action answering it."""

    method: str
    path: str  # the exact path, or the prefix (ending with "/")
    prefix: bool
    action: AnyFunction
    cors: Cors | None

    def describe(self) -> str:
        return f"{self.method} {self.path}{'*' if self.prefix else ''}"


class RouteTable:
    """Routes of HTTP actions and how requests to them are answered (`router.HttpRouter`).

    Args:
        cors: CORS for every route (a route's own ``cors=`` replaces it; ``cors=False`` there
            turns it off); None: no CORS headers, and OPTIONS answers only a routed handler.
        verify_bearer: Verify an ``Authorization: Bearer`` header as a JWT (a bad one is a 401,
            the handler does not run) and give its identity to ``ctx.auth``. False leaves the
            header to the handler (a webhook sending its own secret that way), and ``ctx.auth``
            is anonymous.
        max_body_bytes: The request and response body cap (Convex: 20 MiB); a larger request
            body is answered 413, a larger response is an error.
    """

    def __init__(
        self,
        *,
        cors: Cors | None = None,
        verify_bearer: bool = True,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.cors = cors
        self.verify_bearer = verify_bearer
        self.max_body_bytes = max_body_bytes
        self._exact: dict[str, dict[str, Route]] = {}
        self._prefixes: dict[str, dict[str, Route]] = {}  # method → prefix → route

    def route(
        self,
        *,
        method: str,
        handler: Handler,
        path: str | None = None,
        path_prefix: str | None = None,
        cors: Cors | bool | None = None,
    ) -> Route:
        """Route ``method`` requests for ``path`` (or any path under ``path_prefix``) to
        ``handler`` (an `http_action`, or a plain ``(ctx, request)`` function, registered as
        one). ``cors`` replaces the router's CORS for this route (False: none)."""
        method = str(method).upper()
        if method not in METHODS:
            raise ConfigurationError(
                f"'{method}' is not an allowed HTTP method ({', '.join(METHODS)}; HEAD is "
                "served by the GET route)"
            )
        if handler is None:
            raise ConfigurationError("route requires handler")
        if (path is None) == (path_prefix is None):
            raise ConfigurationError(
                "Invalid route: give exactly one of path= (exact) and path_prefix="
            )
        chosen = self.cors if cors is None or cors is True else (cors or None)
        if path is not None:
            if not path.startswith("/"):
                raise ConfigurationError(f"path '{path}' does not start with a /")
            methods = self._exact.setdefault(path, {})
            if method in methods:
                raise ConfigurationError(f"Path '{path}' for method {method} already in use")
            route = Route(method, path, False, http_action(handler), chosen)
            methods[method] = route
            return route
        assert path_prefix is not None
        if not path_prefix.startswith("/"):
            raise ConfigurationError(f"path_prefix '{path_prefix}' does not start with a /")
        if not path_prefix.endswith("/"):
            raise ConfigurationError(f"path_prefix '{path_prefix}' must end with a /")
        prefixes = self._prefixes.setdefault(method, {})
        if path_prefix in prefixes:
            raise ConfigurationError(f"{method} path_prefix {path_prefix} is already defined")
        route = Route(method, path_prefix, True, http_action(handler), chosen)
        prefixes[path_prefix] = route
        return route

    def routes(self) -> Iterator[Route]:
        """Every route: exact ones by path, then prefixes (as Convex's ``getRoutes``)."""
        for path in sorted(self._exact):
            yield from (self._exact[path][m] for m in sorted(self._exact[path]))
        for method in sorted(self._prefixes):
            yield from (self._prefixes[method][p] for p in sorted(self._prefixes[method]))

    def lookup(self, path: str, method: str) -> Route | None:
        """The route that answers ``method`` at ``path``: exact first, then longest prefix."""
        method = "GET" if method.upper() == "HEAD" else method.upper()
        exact = self._exact.get(path, {}).get(method)
        if exact is not None:
            return exact
        prefixes = self._prefixes.get(method, {})
        for prefix in sorted(prefixes, key=len, reverse=True):
            if path.startswith(prefix):
                return prefixes[prefix]
        return None

    def methods_at(self, path: str) -> list[str]:
        """The methods routed at ``path`` (in Convex's order)."""
        return [m for m in METHODS if self.lookup(path, m) is not None]

    def cors_at(self, path: str, method: str | None = None) -> Cors | None:
        """The CORS of ``path``: that of the route ``method`` would run, else the first one."""
        route = self.lookup(path, method) if method in METHODS else None
        if route is not None and route.cors is not None:
            return route.cors
        for m in METHODS:
            found = self.lookup(path, m)
            if found is not None and found.cors is not None:
                return found.cors
        return None

    def knows(self, path: str) -> bool:
        return path in self._exact or any(
            path.startswith(prefix) for routes in self._prefixes.values() for prefix in routes
        )
