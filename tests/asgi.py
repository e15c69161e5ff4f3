"""ASGI application of the test suite: Django for HTTP, reactive's sync protocol for WebSockets."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django_asgi = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (after Django is set up)

from reactive.routing import sync_application  # noqa: E402
from reactive.storage.upload_limit import UploadLimit  # noqa: E402

# A server started with REACTIVE_TEST_BARE_HTTP runs Django alone, so that tests reach the upload
# view's own size check (what a server without UploadLimit relies on).
http = django_asgi if os.environ.get("REACTIVE_TEST_BARE_HTTP") else UploadLimit(django_asgi)
application = ProtocolTypeRouter({"http": http, "websocket": sync_application()})
