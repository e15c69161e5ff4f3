"""Log lines of a function call, Convex's `logLines`: only what the function itself logs.

Three sources reach the client, each kept as a `"[LEVEL] message"` line (Convex caps them at 256
lines of 4 KiB):

- `ctx.log(...)` / `ctx.log.debug/info/warn/error(...)`, Convex's `console.log`: always sent;
- records of the `reactive.fn` logger or a child of it (`logging.getLogger("reactive.fn.chat")`),
  for code that has no `ctx`; that logger passes DEBUG and up unless `LOGGING` sets its level;
- `print()` to `sys.stdout`, one line per printed line, still written to the real stdout too.

Records of every other logger (libraries, Django, reactive's own) are never sent: they follow
Django's `LOGGING` like any record. The sink is a context variable, not a thread-local, so only
the call's own thread, or its async action's task, writes to it; `sys.stdout` becomes a proxy
that looks the sink up on each write, so one call's prints never reach another call's client.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
from typing import Any

MAX_LINES = 256
MAX_LINE_BYTES = 4096
#: The documented logger whose records (and its children's) are a function's log lines.
FUNCTION_LOGGER = "reactive.fn"

_sink: contextvars.ContextVar[LogSink | None] = contextvars.ContextVar(
    "reactive_log_sink", default=None
)
fn_logger = logging.getLogger(FUNCTION_LOGGER)

_LEVELS = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "ERROR",
}
_PYTHON_LEVELS = {
    "LOG": logging.INFO,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
}


class LogSink:
    """The lines of one top-level call (nested calls share it)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.truncated = False
        self._partial = ""  # printed text not yet ended by a newline

    def add(self, level: str, message: str) -> None:
        if len(self.lines) >= MAX_LINES:
            if not self.truncated:
                self.truncated = True
                self.lines.append("[WARN] Log overflow (maximum 256). Remaining log lines omitted.")
            return
        if len(message) > MAX_LINE_BYTES:
            message = message[:MAX_LINE_BYTES] + " (truncated)"
        self.lines.append(f"[{level}] {message}")

    def printed(self, text: str) -> None:
        *done, self._partial = (self._partial + text).split("\n")
        for line in done:
            self.add("LOG", line)

    def flush(self) -> None:
        """End a printed line left open (``print(..., end="")``)."""
        if self._partial:
            partial, self._partial = self._partial, ""
            self.add("LOG", partial)

    def snapshot(self) -> list[str]:
        return self.lines + ([f"[LOG] {self._partial}"] if self._partial else [])


def current_sink() -> LogSink | None:
    return _sink.get()


def current_lines() -> list[str]:
    sink = _sink.get()
    return sink.snapshot() if sink is not None else []


class _Stdout:
    """``sys.stdout`` while reactive runs: a printed line also goes to the current call's sink.

    Writes still reach the stream it wraps, so the server console shows them as before.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        sink = _sink.get()
        if sink is not None and isinstance(text, str):
            sink.printed(text)
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


_stdout_lock = threading.Lock()


def _watch_stdout() -> None:
    # Checked on every top-level call: a test runner (or anything else) may have replaced
    # sys.stdout since, and the proxy then wraps the new stream.
    if isinstance(sys.stdout, _Stdout) or sys.stdout is None:
        return
    with _stdout_lock:
        if not isinstance(sys.stdout, _Stdout) and sys.stdout is not None:
            sys.stdout = _Stdout(sys.stdout)


class collect_logs:
    """Context manager: collect this call's log lines into ``sink`` (nesting shares the sink)."""

    def __init__(self, sink: LogSink) -> None:
        self.sink = sink

    def __enter__(self) -> LogSink:
        self.previous = current_sink()
        if self.previous is None:
            _watch_stdout()
        self.token = _sink.set(self.previous or self.sink)
        return self.previous or self.sink

    def __exit__(self, *exc: Any) -> None:
        _sink.reset(self.token)
        if self.previous is None:
            self.sink.flush()


class _LogLineHandler(logging.Handler):
    """On ``reactive.fn``: a record emitted inside a call becomes one of its log lines."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _sink.get()
        if sink is not None and not getattr(record, "reactive_sent", False):
            sink.add(_LEVELS.get(record.levelno, "LOG"), record.getMessage())


def install() -> None:
    """Attach the log-line handler to ``reactive.fn`` (once); run after LOGGING is applied.

    Its level becomes DEBUG unless LOGGING set one, so ``.info()`` lines reach the client as
    Convex's ``console.info`` does; the records still propagate to LOGGING's handlers.
    """
    if not any(isinstance(h, _LogLineHandler) for h in fn_logger.handlers):
        fn_logger.addHandler(_LogLineHandler())
    if fn_logger.level == logging.NOTSET:
        fn_logger.setLevel(logging.DEBUG)


class FunctionLog:
    """``ctx.log``: ``ctx.log("hi", 1)`` (Convex's console.log) or ``ctx.log.info/warn/error``.

    Each line goes to the client and, as a record of ``reactive.fn`` naming the function, to the
    server's logging.
    """

    def __init__(self, path: str) -> None:
        self._path = path

    def _emit(self, level: str, args: tuple[Any, ...]) -> None:
        message = " ".join(a if isinstance(a, str) else repr(a) for a in args)
        sink = current_sink()
        if sink is not None:
            sink.add(level, message)
        fn_logger.log(
            _PYTHON_LEVELS[level], "%s: %s", self._path, message, extra={"reactive_sent": True}
        )

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
