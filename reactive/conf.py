"""The `REACTIVE` settings dict: defaults, typed access, and reloading in tests.

Read settings through `reactive_settings`, never `django.conf.settings.REACTIVE` directly: it
fills in defaults and is reset when `override_settings` changes `REACTIVE`. Every key is
documented with its default in docs/settings.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Name of the module (or package) holding functions in each installed app.
    "FUNCTIONS_MODULE": "functions",
    # Largest accepted HTTP request body, in bytes.
    "MAX_REQUEST_BYTES": 16 * 1024 * 1024,
    # Issuer of identities built from a Django session (`identity.issuer`).
    "SESSION_ISSUER": "django",
    # Mutation retries on serialization failures (40001) and deadlocks (40P01).
    # lock_timeout_ms: a row-lock wait longer than this is a retryable conflict; it is what
    # resolves a deadlock quickly (Postgres only detects one after deadlock_timeout, 1 s).
    # queued_seconds: once a call has its turn in its function's queue, its retries are not
    # counted against max_attempts but bounded by this time.
    "RETRY": {"max_attempts": 12, "initial_backoff_ms": 2.0, "max_backoff_ms": 250.0,
              "lock_timeout_ms": 500.0, "queued_seconds": 5.0},
    # Per-function limits (Convex's defaults, except where noted in docs/settings.md).
    "LIMITS": {
        "documents_read": 32_000,
        "bytes_read": 16 * 1024 * 1024,
        "documents_written": 16_000,
        "bytes_written": 16 * 1024 * 1024,
        "index_ranges": 4_096,
        "function_seconds": 1.0,
        "action_seconds": 600.0,
        "argument_bytes": 16 * 1024 * 1024,
        "result_bytes": 16 * 1024 * 1024,
    },
    # Refuse network I/O (socket connects) inside queries and mutations. None means "when DEBUG".
    "REFUSE_NETWORK_IN_TRANSACTIONS": None,
    # Browser origins allowed to use the session cookie identity cross-origin (besides same-origin
    # requests and CSRF_TRUSTED_ORIGINS).
    "CORS_TRUSTED_ORIGINS": [],
    # The WebSocket sync engine.
    "SYNC": {
        "max_frame_bytes": 16 * 1024 * 1024,  # largest accepted client frame
        "max_queries_per_socket": 1024,  # further Adds get QueryFailed
        "max_pending_mutations": 1000,  # per socket, as Convex
        "ping_seconds": 15.0,  # send a Ping after this long without sending anything
        "poll_seconds": 1.0,  # check the change log at least this often, woken or not
        "slow_socket_seconds": 30.0,  # close a socket whose send blocks this long
        "mutation_result_seconds": 3600.0,  # keep results for re-sent mutations this long
        "change_log_retention_seconds": 600.0,  # prune unread log rows after this long
        # NOTIFY on writes made through the executor: None = only when no cross-process
        # Channels layer is configured (the layer then carries wake-ups instead).
        "notify_executor_writes": None,
        # CPython's GIL switch interval, lowered to this (ms) when the sync engine starts, so
        # its I/O-bound listener thread is not queued behind CPU-bound function threads for
        # 5 ms (the default) at every database round trip. None leaves it alone.
        "gil_switch_interval_ms": 1.0,
    },
    # The scheduler (`ctx.scheduler`), its worker and crons.
    "SCHEDULER": {
        "crons_module": "crons",  # module holding `crons = CronJobs()` in each installed app
        "queue": "reactive",  # procrastinate queue the worker takes scheduled functions from
        "max_scheduled_per_function": 1000,  # run_after/run_at calls in one function call
        "max_args_bytes": 8 * 1024 * 1024,  # arguments of one scheduled function
        "max_total_args_bytes": 16 * 1024 * 1024,  # all arguments scheduled by one call
        "max_delay_days": 5 * 365,  # later than this is refused as a mistake
        "mutation_attempts": 10,  # tries of a scheduled mutation failing transiently
        "retry_base_seconds": 0.5,  # backoff: base * 2**(failures - 1), at most retry_max
        "retry_max_seconds": 60.0,
        "worker_concurrency": 8,  # scheduled functions a worker runs at once
        "poll_seconds": 0.25,  # how often a worker looks for jobs that came due (new jobs
        # wake it at once through NOTIFY; delayed ones are found by this poll)
        "heartbeat_seconds": 2.0,  # worker heartbeat interval
        "stalled_seconds": 10.0,  # a worker silent this long is dead: its jobs are recovered
        "retention_days": 7.0,  # finished rows of _scheduled_functions are kept this long
        "shutdown_seconds": 30.0,  # on SIGTERM, wait this long for running functions
    },
}


@dataclass(frozen=True)
class Limits:
    documents_read: int
    bytes_read: int
    documents_written: int
    bytes_written: int
    index_ranges: int
    function_seconds: float
    action_seconds: float
    argument_bytes: int
    result_bytes: int


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded, jittered exponential backoff for retryable transaction failures."""

    max_attempts: int = 12
    initial_backoff_ms: float = 2.0
    max_backoff_ms: float = 250.0
    lock_timeout_ms: float = 500.0
    queued_seconds: float = 5.0

    def __post_init__(self) -> None:
        for name in ("max_attempts", "initial_backoff_ms", "max_backoff_ms", "lock_timeout_ms",
                     "queued_seconds"):
            value = getattr(self, name)
            least = 1 if name == "max_attempts" else 0
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < least:
                from .errors import ConfigurationError

                raise ConfigurationError(
                    f"REACTIVE['RETRY'][{name!r}] must be a number ≥ {least}, not {value!r}")

    def backoff_seconds(self, attempt: int, rand: float) -> float:
        """Full-jitter backoff before `attempt` (1-based count of failures so far)."""
        cap = min(self.max_backoff_ms, self.initial_backoff_ms * (2 ** (attempt - 1)))
        return rand * cap / 1000.0


@dataclass(frozen=True)
class SyncSettings:
    max_frame_bytes: int
    max_queries_per_socket: int
    max_pending_mutations: int
    ping_seconds: float
    poll_seconds: float
    slow_socket_seconds: float
    mutation_result_seconds: float
    change_log_retention_seconds: float
    notify_executor_writes: bool | None
    gil_switch_interval_ms: float | None


@dataclass(frozen=True)
class SchedulerSettings:
    crons_module: str
    queue: str
    max_scheduled_per_function: int
    max_args_bytes: int
    max_total_args_bytes: int
    max_delay_days: float
    mutation_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    worker_concurrency: int
    poll_seconds: float
    heartbeat_seconds: float
    stalled_seconds: float
    retention_days: float
    shutdown_seconds: float

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait before retrying a scheduled mutation after ``attempt`` failures."""
        return min(self.retry_max_seconds, self.retry_base_seconds * 2 ** max(0, attempt - 1))


@dataclass
class ReactiveSettings:
    """Typed view of `settings.REACTIVE` merged over DEFAULTS."""

    FUNCTIONS_MODULE: str = "functions"
    MAX_REQUEST_BYTES: int = 0
    SESSION_ISSUER: str = "django"
    RETRY: RetryPolicy = field(default_factory=RetryPolicy)
    LIMITS: Limits = field(default_factory=lambda: Limits(**DEFAULTS["LIMITS"]))
    REFUSE_NETWORK_IN_TRANSACTIONS: bool = False
    CORS_TRUSTED_ORIGINS: tuple[str, ...] = ()
    SYNC: SyncSettings = field(default_factory=lambda: SyncSettings(**DEFAULTS["SYNC"]))
    SCHEDULER: SchedulerSettings = field(
        default_factory=lambda: SchedulerSettings(**DEFAULTS["SCHEDULER"]))

    @property
    def notify_executor_writes(self) -> bool:
        """Whether executor writes NOTIFY (see SYNC.notify_executor_writes)."""
        if self.SYNC.notify_executor_writes is not None:
            return self.SYNC.notify_executor_writes
        from django.conf import settings

        backend = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND", "")
        return not backend or backend.endswith("InMemoryChannelLayer")


def _load() -> ReactiveSettings:
    from django.conf import settings

    user: dict[str, Any] = dict(getattr(settings, "REACTIVE", {}) or {})
    known = {f.name for f in fields(ReactiveSettings)}
    unknown = sorted(set(user) - known)
    if unknown:
        from .errors import ConfigurationError

        raise ConfigurationError(
            f"Unknown REACTIVE setting(s): {', '.join(unknown)}. See docs/settings.md."
        )
    for key in ("RETRY", "LIMITS", "SYNC", "SCHEDULER"):
        bad = sorted(set(user.get(key) or {}) - set(DEFAULTS[key]))
        if bad:
            from .errors import ConfigurationError

            raise ConfigurationError(
                f"Unknown REACTIVE[{key!r}] key(s): {', '.join(bad)}. See docs/settings.md."
            )
    merged = {**DEFAULTS, **user}
    refuse = merged["REFUSE_NETWORK_IN_TRANSACTIONS"]
    return ReactiveSettings(
        FUNCTIONS_MODULE=merged["FUNCTIONS_MODULE"],
        MAX_REQUEST_BYTES=int(merged["MAX_REQUEST_BYTES"]),
        SESSION_ISSUER=merged["SESSION_ISSUER"],
        RETRY=RetryPolicy(**{**DEFAULTS["RETRY"], **merged["RETRY"]}),
        LIMITS=Limits(**{**DEFAULTS["LIMITS"], **merged["LIMITS"]}),
        REFUSE_NETWORK_IN_TRANSACTIONS=bool(settings.DEBUG if refuse is None else refuse),
        CORS_TRUSTED_ORIGINS=tuple(merged["CORS_TRUSTED_ORIGINS"]),
        SYNC=SyncSettings(**{**DEFAULTS["SYNC"], **merged["SYNC"]}),
        SCHEDULER=SchedulerSettings(**{**DEFAULTS["SCHEDULER"], **merged["SCHEDULER"]}),
    )


class _LazySettings:
    _loaded: ReactiveSettings | None = None

    def __getattr__(self, name: str) -> Any:
        if self._loaded is None:
            self._loaded = _load()
        return getattr(self._loaded, name)

    def reload(self) -> None:
        self._loaded = None


reactive_settings = _LazySettings()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("REACTIVE", "DEBUG"):
        reactive_settings.reload()


def connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="reactive.conf")
