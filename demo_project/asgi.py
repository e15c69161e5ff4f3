"""ASGI entry point of the demo project: `daphne demo_project.asgi:application`."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")

application = get_asgi_application()

# Plain `daphne` does not serve static files (`runserver` does); in development, serve them here
# so the chat page's script and the admin's stylesheets load.
if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)

# The WebSocket sync protocol (a later issue) wraps this in a channels ProtocolTypeRouter here:
#     application = ProtocolTypeRouter({"http": application, "websocket": <reactive's router>})
