"""Live subscriptions per function path in this process, read from the sync engine.

The listener hands its subscription manager to `watch` when it starts; `counts` reads every
watched manager under its own lock when the flush asks (every few seconds), so the sync engine
pays nothing per subscription. A manager is held weakly: a stopped listener drops out.
Subscriptions are counted per socket holding them (two sockets on one query count two).
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from typing import Any

_lock = threading.Lock()
_managers: weakref.WeakSet[Any] = weakref.WeakSet()


def watch(manager: Any) -> None:
    """Count ``manager``'s subscriptions (a `sync.subscriptions.SubscriptionManager`: its
    ``subs`` dict and ``lock``) from now on."""
    with _lock:
        _managers.add(manager)


def watching() -> bool:
    with _lock:
        return len(_managers) > 0


def counts() -> dict[str, int]:
    """Function path → sockets' subscriptions to it, over every watched manager."""
    with _lock:
        managers = list(_managers)
    found: Counter[str] = Counter()
    for manager in managers:
        with manager.lock:
            subs = list(manager.subs.values())
        for sub in subs:
            found[sub.path] += len(sub.holders)
    return {path: n for path, n in sorted(found.items()) if n}


def reset() -> None:
    """Watch nothing, with a fresh lock (a forked child: its parent's listener is not its own)."""
    global _lock, _managers
    _lock = threading.Lock()
    _managers = weakref.WeakSet()
