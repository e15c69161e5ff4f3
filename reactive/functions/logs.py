"""Log lines of a function call: `ctx.log(...)` and Python logging, as Convex's `logLines`.

While a function runs, records that reach the root logger from its context (WARNING and up by
default, or whatever the emitting logger lets through) and every `ctx.log` / `ctx.log.info(...)`
call are kept as `"[LEVEL] message"` lines, returned with the result (Convex caps them at 256
lines of 4 KiB). The sink is a context variable, not a thread-local, so an async action's logs,
which run on the event loop's thread, are kept too; reactive's own loggers are never captured.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

MAX_LINES = 256
MAX_LINE_BYTES = 4096

_sink: contextvars.ContextVar[LogSink | None] = contextvars.ContextVar("reactive_log_sink",
                                                                     default=None)
logger = logging.getLogger("reactive.functions")

_LEVELS = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARN",
           logging.ERROR: "ERROR", logging.CRITICAL: "ERROR"}


class LogSink:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.truncated = False

    def add(self, level: str, message: str) -> None:
        if len(self.lines) >= MAX_LINES:
            if not self.truncated:
                self.truncated = True
                self.lines.append("[WARN] Log overflow (maximum 256). Remaining log lines omitted.")
            return
        if len(message) > MAX_LINE_BYTES:
            message = message[:MAX_LINE_BYTES] + " (truncated)"
        self.lines.append(f"[{level}] {message}")


def current_sink() -> LogSink | None:
    return _sink.get()


def current_lines() -> list[str]:
    sink = _sink.get()
    return list(sink.lines) if sink is not None else []


class capture:
    """Context manager: collect this thread's log lines into ``sink`` (nesting shares the sink)."""

    def __init__(self, sink: LogSink) -> None:
        self.sink = sink

    def __enter__(self) -> LogSink:
        self.previous = current_sink()
        self.token = _sink.set(self.previous or self.sink)
        return self.previous or self.sink

    def __exit__(self, *exc: Any) -> None:
        _sink.reset(self.token)


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sink = current_sink()
        if sink is not None and not record.name.startswith("reactive."):
            sink.add(_LEVELS.get(record.levelno, "LOG"), record.getMessage())


_installed = False


def install() -> None:
    """Attach the capturing handler to the root logger (once)."""
    global _installed
    if not _installed:
        logging.getLogger().addHandler(_Handler())
        _installed = True


class FunctionLog:
    """``ctx.log``: ``ctx.log("hi", 1)`` (Convex's console.log) or ``ctx.log.info/warn/error``."""

    def __init__(self, path: str) -> None:
        self._path = path

    def _emit(self, level: str, args: tuple[Any, ...]) -> None:
        message = " ".join(a if isinstance(a, str) else repr(a) for a in args)
        sink = current_sink()
        if sink is not None:
            sink.add(level, message)
        logger.debug("%s [%s] %s", self._path, level, message)

    def __call__(self, *args: Any) -> None:
        self._emit("LOG", args)

    def debug(self, *args: Any) -> None:
        self._emit("DEBUG", args)

    def info(self, *args: Any) -> None:
        self._emit("INFO", args)

    def warn(self, *args: Any) -> None:
        self._emit("WARN", args)

    warning = warn

    def error(self, *args: Any) -> None:
        self._emit("ERROR", args)
