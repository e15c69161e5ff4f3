"""ASGI entry point of the demo project: `daphne demo_project.asgi:application`."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")

http_application = get_asgi_application()

# Plain `daphne` does not serve static files (`runserver` does); in development, serve them here
# so the chat page's script and the admin's stylesheets load.
if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    http_application = ASGIStaticFilesHandler(http_application)

from channels.routing import ProtocolTypeRouter  # noqa: E402  (after Django is set up)

from reactive.routing import sync_application  # noqa: E402

# HTTP for pages and Convex's HTTP API; WebSockets for Convex's sync protocol (live queries).
application = ProtocolTypeRouter({"http": http_application, "websocket": sync_application()})
