"""WebSocket routes of the sync protocol, for the project's ASGI application.

    # asgi.py
    from django.core.asgi import get_asgi_application
    django_asgi = get_asgi_application()

    from channels.routing import ProtocolTypeRouter
    from reactive.routing import sync_application

    application = ProtocolTypeRouter({"http": django_asgi, "websocket": sync_application()})

The JavaScript client connects to ``/api/<client version>/sync``, the Python (Rust) client to
``/api/sync`` at the root of the host; both are served. Each route checks a browser's Origin
before the consumer runs (`BrowserOriginValidator`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import ParseResult

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import re_path

from .consumers import SERVER_SEND, SyncConsumer
from .storage.origin import remember_scope


class BrowserOriginValidator(OriginValidator):
    """Browsers send Origin: it must be one of ALLOWED_HOSTS (no cross-site WebSocket hijacking
    with the visitor's cookie). Non-browser clients send none and are let in.

    Channels' `OriginValidator` finds the header and refuses the handshake (403) before the
    consumer runs. Not `AllowedHostsOriginValidator`: it refuses a handshake without an Origin,
    which every non-browser client makes (the Python and Node clients, most of the test suite),
    and it decides otherwise than Django does on a Host header (ALLOWED_HOSTS read once at
    start-up; under DEBUG with no ALLOWED_HOSTS, ``localhost`` without its subdomains; host names
    compared without Django's normalisation, e.g. of a trailing dot). So the decision stays
    Django's `validate_host`, with the ALLOWED_HOSTS of the moment, as before.
    """

    def __init__(self, application: Callable[[Any, Any, Any], Awaitable[Any]]) -> None:
        super().__init__(application, allowed_origins=())  # ALLOWED_HOSTS is read per handshake
        self.inner = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        if not dict(scope.get("headers") or []).get(b"origin"):
            return await self.inner(scope, receive, send)  # no Origin: not a browser
        return await super().__call__(scope, receive, send)

    def validate_origin(self, parsed_origin: ParseResult | None) -> bool:
        if parsed_origin is None:
            return False
        domain, _port = split_domain_port(parsed_origin.netloc)
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]  # Django's own for DEBUG
        return bool(domain) and validate_host(domain, allowed)


_sync = BrowserOriginValidator(SyncConsumer.as_asgi())

websocket_urlpatterns: list[Any] = [
    re_path(r"^(?:/*)api/sync$", _sync),
    re_path(r"^(?:/*)api/(?P<client_version>[^/]+)/sync$", _sync),
]


class _KeepServerSend:
    """Puts the ASGI server's ``send`` into the scope, for the consumer's frames. Channels'
    session middleware wraps ``send`` to save the session with an HTTP response; on a socket
    that wrapper does nothing for a frame but look the session over, on every frame (4 to 6%
    of the process's GIL time in profiles of writes delivered to 1,000 sockets)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        remember_scope(scope)  # the origin of ctx.storage's absolute URLs, without base_url
        return await self.application({**scope, SERVER_SEND: send}, receive, send)


def sync_application() -> Any:
    """The WebSocket application: the Django session's user, then the sync routes."""
    return _KeepServerSend(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
