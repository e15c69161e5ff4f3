"""Management commands of the chat app."""

from __future__ import annotations
