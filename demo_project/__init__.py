"""The demo project: a small chat app built on reactive (run it with `python3 dev.py demo`)."""

from __future__ import annotations
