"""ASGI application of the ported app: `daphne tests.ported.asgi:application`."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.ported.settings")
django_asgi = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (after Django is set up)

from reactive.routing import sync_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi, "websocket": sync_application()})
