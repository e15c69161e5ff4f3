"""The `REACTIVE` settings dict: defaults, typed access, and reloading in tests.

Read settings through `reactive_settings`, never `django.conf.settings.REACTIVE` directly: it
fills in defaults and is reset when `override_settings` changes `REACTIVE`. Every key is
documented with its default in docs/settings.md.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from .conf_observe import OBSERVE_DEFAULTS, ObserveSettings
from .conf_storage import STORAGE_DEFAULTS, StorageSettings
from .errors import ConfigurationError

DEFAULTS: dict[str, Any] = {
    "FUNCTIONS_MODULE": "functions",  # the module (or package) of functions in each app
    # A package laid out as Convex's convex/ folder (`<root>/messages.py: list_` is messages:list)
    "FUNCTIONS_ROOT": None,
    "MAX_REQUEST_BYTES": 16 * 1024 * 1024,  # largest accepted HTTP request body
    # Issuer of identities built from a Django session (`identity.issuer`).
    "SESSION_ISSUER": "django",
    # Mutation retries on serialization failures (40001) and deadlocks (40P01); lock_timeout_ms,
    # queued_seconds: see docs/settings.md.
    "RETRY": {
        "max_attempts": 12,
        "initial_backoff_ms": 2.0,
        "max_backoff_ms": 250.0,
        "lock_timeout_ms": 500.0,
        "queued_seconds": 5.0,
    },
    # Per-function limits (Convex's defaults, except where noted in docs/settings.md).
    "LIMITS": {
        "documents_read": 32_000,
        "bytes_read": 16 * 1024 * 1024,
        "documents_written": 16_000,
        "bytes_written": 16 * 1024 * 1024,
        "index_ranges": 4_096,
        "function_seconds": 1.0,  # the function's own time; a statement's too (statement_timeout)
        "database_seconds": 15.0,  # time waiting on the database, as Convex's system timeout
        "action_seconds": 600.0,
        "argument_bytes": 16 * 1024 * 1024,
        "result_bytes": 16 * 1024 * 1024,
    },
    # Refuse network I/O (connects, DNS) in queries and mutations, as Convex does; False: off.
    "REFUSE_NETWORK_IN_TRANSACTIONS": True,
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
        # CPython's GIL switch interval (ms, default 5) when the sync engine starts: the
        # listener's database round trips don't wait 5 ms behind function threads. None: as is.
        "gil_switch_interval_ms": 1.0,
        # When the sync engine starts: gc.freeze() and a young-collection threshold of this
        # many objects (CPython: 700), see docs/settings.md. None: the collector as is.
        "gc_threshold": 50_000,
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
    "AUTH": {  # JWTs (docs/auth.md); reactive.auth.issuers checks the issuers
        "issuers": [],  # [{"issuer", "audience", "jwks_url"|"jwks_file"|"keys"|"secret", ...}]
        "leeway_seconds": 60.0,  # clock skew allowed on exp/nbf
        "token_lifetime_seconds": 300.0,  # of the server's own tokens
        "signing_key": None,  # PEM RSA/EC private key (RS256/ES256); None: HS256 from SECRET_KEY
    },
    "STORAGE": STORAGE_DEFAULTS,  # file storage (ctx.storage): reactive/conf_storage.py
    "OBSERVE": OBSERVE_DEFAULTS,  # the admin's activity figures: reactive/conf_observe.py
}


@dataclass(frozen=True)
class Limits:
    documents_read: int
    bytes_read: int
    documents_written: int
    bytes_written: int
    index_ranges: int
    function_seconds: float
    database_seconds: float
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
        for name in (f.name for f in fields(self)):
            value = getattr(self, name)
            least = 1 if name == "max_attempts" else 0
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < least:
                raise ConfigurationError(
                    f"REACTIVE['RETRY'][{name!r}] must be a number ≥ {least}, not {value!r}"
                )

    def backoff_seconds(self, attempt: int, rand: float) -> float:
        """Full-jitter backoff before `attempt` (1-based count of failures so far)."""
        cap = min(self.max_backoff_ms, self.initial_backoff_ms * (2.0 ** (attempt - 1)))
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
    gc_threshold: int | None


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
        return min(self.retry_max_seconds, self.retry_base_seconds * 2.0 ** max(0, attempt - 1))


@dataclass(frozen=True)
class AuthSettings:
    issuers: list[dict[str, Any]]
    leeway_seconds: float
    token_lifetime_seconds: float
    signing_key: str | None


@dataclass
class ReactiveSettings:
    """Typed view of `settings.REACTIVE` merged over DEFAULTS."""

    FUNCTIONS_MODULE: str = "functions"
    FUNCTIONS_ROOT: str | None = None
    MAX_REQUEST_BYTES: int = 0
    SESSION_ISSUER: str = "django"
    RETRY: RetryPolicy = field(default_factory=RetryPolicy)
    LIMITS: Limits = field(default_factory=lambda: Limits(**DEFAULTS["LIMITS"]))
    REFUSE_NETWORK_IN_TRANSACTIONS: bool = True
    CORS_TRUSTED_ORIGINS: tuple[str, ...] = ()
    SYNC: SyncSettings = field(default_factory=lambda: SyncSettings(**DEFAULTS["SYNC"]))
    SCHEDULER: SchedulerSettings = field(
        default_factory=lambda: SchedulerSettings(**DEFAULTS["SCHEDULER"])
    )
    AUTH: AuthSettings = field(default_factory=lambda: AuthSettings(**DEFAULTS["AUTH"]))
    STORAGE: StorageSettings = field(default_factory=lambda: StorageSettings(**STORAGE_DEFAULTS))
    OBSERVE: ObserveSettings = field(default_factory=lambda: ObserveSettings(**OBSERVE_DEFAULTS))

    @property
    def notify_executor_writes(self) -> bool:
        """Whether executor writes NOTIFY (see SYNC.notify_executor_writes)."""
        if self.SYNC.notify_executor_writes is not None:
            return self.SYNC.notify_executor_writes
        backend = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND", "")
        return not backend or backend.endswith("InMemoryChannelLayer")


# Settings that may be 0 (every other number must be positive).
ZERO_ALLOWED = frozenset(
    {
        "RETRY.initial_backoff_ms",
        "RETRY.max_backoff_ms",
        "RETRY.lock_timeout_ms",
        "RETRY.queued_seconds",
        "SCHEDULER.retry_base_seconds",
        "SCHEDULER.retry_max_seconds",
        "SCHEDULER.shutdown_seconds",
        "SCHEDULER.retention_days",
        "AUTH.leeway_seconds",
        "OBSERVE.flush_seconds",
    }
)
# Settings naming a module (inside each installed app, or the functions root).
MODULE_NAMES = frozenset({"FUNCTIONS_MODULE", "FUNCTIONS_ROOT", "SCHEDULER.crons_module"})


def _value_problem(key: str, hint: Any, value: Any, default: Any) -> str | None:
    """Why ``value`` cannot be the setting ``key`` (declared as ``hint``), or None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        hint, default = members[0], None
    if value is None and default is None:
        return None
    if hint is bool:
        return None if isinstance(value, bool) else "expected True or False"
    if hint in (int, float):
        kind = "integer" if hint is int else "number"
        if (
            not isinstance(value, int if hint is int else (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            return f"expected a positive {kind}"
        if value < 0 or (value == 0 and key not in ZERO_ALLOWED):
            return f"expected a {'non-negative' if key in ZERO_ALLOWED else 'positive'} {kind}"
        return None
    if hint is str:
        if not isinstance(value, str) or not value:
            return "expected a non-empty string"
        if key in MODULE_NAMES and not all(p.isidentifier() for p in value.split(".")):
            return "expected a module name like 'functions'"
        return None
    if typing.get_origin(hint) is tuple:
        if isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
            return None
        return "expected a list of strings"
    return None


def _setting(path: tuple[str, ...]) -> str:
    return "REACTIVE" + "".join(f"[{p!r}]" for p in path)


def _unknown(path: tuple[str, ...], key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "; see docs/settings.md"
    return f"{_setting((*path, key))}: unknown setting{hint}"


def _checked(
    path: tuple[str, ...],
    given: Any,
    defaults: dict[str, Any],
    hints: dict[str, Any],
    problems: list[str],
) -> dict[str, Any]:
    """``defaults`` overlaid with the valid entries of ``given``; the others become problems."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        problems.append(f"{_setting(path)}: expected a dict, got {_short(given)}")
        return dict(defaults)
    out = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            problems.append(_unknown(path, str(key), defaults))
            continue
        dotted = ".".join((*path, key))
        problem = _value_problem(dotted, hints.get(key), value, defaults[key])
        if problem is None:
            out[key] = value
        else:
            problems.append(f"{_setting((*path, key))}: {problem}, got {_short(value)}")
    return out


def _short(value: Any) -> str:
    return repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."


NESTED: dict[str, type] = {
    "RETRY": RetryPolicy,
    "LIMITS": Limits,
    "SYNC": SyncSettings,
    "SCHEDULER": SchedulerSettings,
    "AUTH": AuthSettings,
    "STORAGE": StorageSettings,
    "OBSERVE": ObserveSettings,
}


def _load() -> tuple[ReactiveSettings, list[str]]:
    """The settings, and one line per problem found (a bad value falls back to its default)."""
    problems: list[str] = []
    top_hints = typing.get_type_hints(ReactiveSettings)
    top_defaults = {
        k: v for k, v in DEFAULTS.items() if k in {f.name for f in fields(ReactiveSettings)}
    }
    given = getattr(settings, "REACTIVE", None)
    top_only = {k: top_hints[k] for k in top_defaults if k not in NESTED}
    merged = _checked((), given, top_defaults, top_only, problems)
    nested = {}
    for key, cls in NESTED.items():
        user = merged[key] if merged[key] is not DEFAULTS[key] else None
        nested[key] = cls(
            **_checked((key,), user, DEFAULTS[key], typing.get_type_hints(cls), problems)
        )
    refuse = merged["REFUSE_NETWORK_IN_TRANSACTIONS"]
    loaded = ReactiveSettings(
        FUNCTIONS_MODULE=merged["FUNCTIONS_MODULE"],
        FUNCTIONS_ROOT=merged["FUNCTIONS_ROOT"],
        MAX_REQUEST_BYTES=int(merged["MAX_REQUEST_BYTES"]),
        SESSION_ISSUER=merged["SESSION_ISSUER"],
        REFUSE_NETWORK_IN_TRANSACTIONS=bool(refuse),  # a non-bool is a problem (default kept)
        CORS_TRUSTED_ORIGINS=tuple(merged["CORS_TRUSTED_ORIGINS"]),
        **nested,  # RETRY, LIMITS, SYNC, SCHEDULER, AUTH, STORAGE, OBSERVE
    )
    return loaded, problems


class _LazySettings:
    """`reactive_settings`: loaded on first use. Reading a setting while any is invalid raises
    `ConfigurationError` (so calls fail until it is fixed); `problems` lists them all for the
    system check, and `lenient` gives defaults in their place, for start-up and the checks."""

    _loaded: tuple[ReactiveSettings, list[str]] | None = None

    def _get(self) -> tuple[ReactiveSettings, list[str]]:
        if self._loaded is None:
            self._loaded = _load()
        return self._loaded

    def __getattr__(self, name: str) -> Any:
        loaded, problems = self._get()
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ConfigurationError(f"{problems[0]}{more}; run manage.py check")
        return getattr(loaded, name)

    @property
    def problems(self) -> list[str]:
        """One line per invalid setting (empty when all are valid)."""
        return list(self._get()[1])

    @property
    def lenient(self) -> ReactiveSettings:
        """The settings with defaults wherever a value is invalid; never raises."""
        return self._get()[0]

    def reload(self) -> None:
        self._loaded = None


reactive_settings = _LazySettings()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("REACTIVE", "DEBUG"):
        reactive_settings.reload()


def connect_signals() -> None:
    setting_changed.connect(_on_setting_changed, dispatch_uid="reactive.conf")
