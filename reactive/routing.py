"""WebSocket routes of the sync protocol, for the project's ASGI application.

    # asgi.py
    from django.core.asgi import get_asgi_application
    django_asgi = get_asgi_application()

    from channels.routing import ProtocolTypeRouter
    from reactive.routing import sync_application

    application = ProtocolTypeRouter({"http": django_asgi, "websocket": sync_application()})

The JavaScript client connects to ``/api/<client version>/sync``, the Python (Rust) client to
``/api/sync`` at the root of the host; both are served.
"""

from __future__ import annotations

from typing import Any

from django.urls import re_path

from .consumers import SyncConsumer

# django-stubs types re_path's target as a view; Channels routes ASGI applications with it.
websocket_urlpatterns: list[Any] = [
    re_path(r"^(?:/*)api/sync$", SyncConsumer.as_asgi()),  # type: ignore[arg-type]
    re_path(r"^(?:/*)api/(?P<client_version>[^/]+)/sync$", SyncConsumer.as_asgi()),  # type: ignore[arg-type]
]


def sync_application() -> Any:
    """The WebSocket application: the Django session's user, then the sync routes."""
    from channels.auth import AuthMiddlewareStack
    from channels.routing import URLRouter

    return AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
