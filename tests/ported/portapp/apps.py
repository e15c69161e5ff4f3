from __future__ import annotations

from django.apps import AppConfig


class PortAppConfig(AppConfig):
    """The Python port of the Convex app in tests/ported/convex_src."""

    name = "tests.ported.portapp"
    label = "portapp"
    default_auto_field = "django.db.models.BigAutoField"
