"""The public origin of the absolute URLs that ``ctx.storage`` makes.

``REACTIVE["STORAGE"]["base_url"]`` when set. Otherwise the origin of the request or WebSocket
that made the call, which the transports record here (`remember_request`, `remember_scope`)
before running it: a context variable, so every call started from that request sees it, in
whichever worker thread it runs (only a host ALLOWED_HOSTS names: not under ``"*"``). A call
run for no request of its own (a subscription re-run by the sync engine, a scheduled function)
gets the origin this process last recorded: a host ALLOWED_HOSTS accepts, but not necessarily
the one its client used, which is why production sets ``base_url``. A process that has recorded
none cannot make an absolute URL and says so.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from ..conf import reactive_settings
from ..errors import ConfigurationError, NotAllowedHere

_origin: ContextVar[str | None] = ContextVar("reactive_storage_origin", default=None)
_last: list[str] = []  # the origin this process recorded last (one element, once there is one)


def _record(origin: str | None) -> None:
    _origin.set(origin)
    if origin is not None:
        _last[:] = [origin]


def remember_request(request: Any) -> None:
    """Record an HTTP request's origin (``scheme://host``) for the calls it makes."""
    host = request.META.get("HTTP_X_FORWARDED_HOST") if settings.USE_X_FORWARDED_HOST else None
    host = host or request.META.get("HTTP_HOST") or ""
    _record(f"{request.scheme}://{host}" if _allowed(host) else None)


def remember_scope(scope: Any) -> None:
    """Record a WebSocket's origin (its Host header, http or https) for the calls it makes."""
    host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    _record(f"{scheme}://{host}" if _allowed(host) else None)


def _allowed(host: str) -> bool:
    """Whether Django would serve ``host`` (ALLOWED_HOSTS, as `HttpRequest.get_host` checks),
    by a name the project chose: with ``"*"`` in ALLOWED_HOSTS any client could name any host,
    and URLs made for it may be shown to others (a subscription's result is shared)."""
    domain, _port = split_domain_port(host)
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # Django's own for DEBUG
    return bool(domain) and "*" not in allowed and validate_host(domain, allowed)


def base_url(path: str) -> str:
    """The origin to put before the absolute URLs made by the call at ``path``."""
    configured = reactive_settings.STORAGE.base_url
    if configured is not None and not configured.startswith(("http://", "https://")):
        raise ConfigurationError(
            f'REACTIVE["STORAGE"]["base_url"] is {configured!r}: expected an origin like '
            '"https://api.example.com"'
        )
    found = configured or _origin.get() or (_last[0] if _last else None)
    if not found:
        raise NotAllowedHere(
            f"{path}: ctx.storage cannot make an absolute URL here (no request seen yet): set "
            'REACTIVE["STORAGE"]["base_url"] to the public origin, e.g. "https://api.example.com"'
        )
    return found.rstrip("/")
