"""tests.settings with no LOGGING: a fresh project that leaves logging to Django's defaults."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

del LOGGING  # noqa: F821
