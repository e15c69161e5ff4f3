"""The chat app: channels, messages and user profiles as reactive tables."""

from __future__ import annotations
