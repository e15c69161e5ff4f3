"""The reliability suite's two lengths: fast in the normal run, long with REACTIVE_LONG=1.

    REACTIVE_LONG=1 python3 dev.py test tests/reliability

Each test picks its size (hypothesis examples, steps, rounds) with `scaled(fast, long)`.
"""

from __future__ import annotations

import os

LONG = os.environ.get("REACTIVE_LONG", "") not in ("", "0")


def scaled(fast: int, long: int) -> int:
    return long if LONG else fast
