"""The ``REACTIVE["OBSERVE"]`` settings section (the admin's activity figures): its defaults and
typed view.

Kept apart from `conf` (which merges and checks it like every other section), as
`conf_storage` is. Documented in docs/settings.md and docs/admin.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OBSERVE_DEFAULTS: dict[str, Any] = {
    # How often each process writes its call figures and live subscription counts to the
    # database (and once more at exit); 0: never on its own (`reactive.observe.flush.flush_now`).
    "flush_seconds": 5.0,
    "retention_hours": 24.0,  # per-minute call figures older than this are deleted
    "recent_conflicts": 200,  # the newest retried or conflicting calls kept, over all processes
}


@dataclass(frozen=True)
class ObserveSettings:
    flush_seconds: float
    retention_hours: float
    recent_conflicts: int
