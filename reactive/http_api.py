"""Convex's HTTP API, as a protocol layer: request bodies in, response bodies out. No Django.

`parse_call` turns a request body into (path, args, format) (`parse_ts` reads the timestamp of
`/api/query_at_ts`); `outcome_body` turns an executor
`Outcome` into Convex's `UdfResponse` JSON (`{"status": "success", "value", "logLines"}` or
`{"status": "error", "errorMessage", "errorData"?, "logLines"}`), always with HTTP 200, as the
official clients expect. Malformed requests are `RequestError`s (HTTP 4xx with `{code, message}`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import clock
from .errors import RequestError
from .functions.outcome import Outcome, error_data, error_message
from .sync.protocol import decode_ts
from .values import ValueEncodingError, decode, encode

FORMATS = {
    None: "convex_encoded_json",
    "convex_encoded_json": "convex_encoded_json",
    "convex_json": "convex_encoded_json",
    "json": "json",
    "convex_clean_json": "json",
}


@dataclass(frozen=True)
class HttpCall:
    """A function call from an HTTP request body (`/api/query`, `/api/mutation`, `/api/action`,
    `/api/run/...`)."""

    path: str
    args: Any
    format: str


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError("BadJsonBody", f"The request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError("BadJsonBody", "The request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise RequestError("BadJsonBody", "The request body must be a JSON object")
    return data


def parse_args(raw: Any) -> Any:
    """``[obj]`` (the JS client) or ``obj`` (Python, /api/run); absent means ``{}``."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        if len(raw) != 1:
            raise RequestError("BadArgs", "args must be an object or a one-element array")
        raw = raw[0]
    try:
        return decode(raw, path="args")
    except ValueEncodingError as exc:
        raise RequestError("BadArgs", f"args are not valid Convex JSON: {exc}") from None


def parse_format(raw: Any) -> str:
    if not isinstance(raw, (str, type(None))) or raw not in FORMATS:
        raise RequestError(
            "BadFormat", f"Unsupported format {raw!r}; use 'convex_encoded_json' or 'json'"
        )
    return FORMATS[raw]


def parse_call(
    body: bytes, *, path: str | None = None, default_format: str | None = None
) -> HttpCall:
    """Parse a call; `/api/run` passes ``default_format="json"`` (Convex's default there)."""
    data = parse_body(body)
    if path is None:
        path = data.get("path")
        if not isinstance(path, str) or not path:
            raise RequestError(
                "BadConvexFunctionIdentifier", "The request body needs a function path in `path`"
            )
    return HttpCall(
        path=path,
        args=parse_args(data.get("args")),
        format=parse_format(data.get("format", default_format)),
    )


def parse_ts(body: bytes) -> int:
    """The ``ts`` of a ``/api/query_at_ts`` body: one ``/api/query_ts`` issued (base64 u64)."""
    raw = parse_body(body).get("ts")
    try:
        if not isinstance(raw, str):
            raise ValueError("missing")
        ts = decode_ts(raw)
    except ValueError:
        raise RequestError(
            "BadTimestamp", "`ts` must be a timestamp from /api/query_ts (8 bytes of base64)"
        ) from None
    if not clock.observe_ts(ts):
        raise RequestError(
            "BadTimestamp",
            "`ts` lies ahead of this server's clock; use one returned by /api/query_ts",
        )
    return ts


def outcome_body(outcome: Outcome, fmt: str) -> dict[str, Any]:
    if outcome.error is None:
        value = (
            outcome.encoded if fmt == "convex_encoded_json" else encode(outcome.value, clean=True)
        )
        return {"status": "success", "value": value, "logLines": outcome.log_lines}
    clean = fmt != "convex_encoded_json"
    body: dict[str, Any] = {
        "status": "error",
        "errorMessage": error_message(outcome.error, clean=clean),
        "logLines": outcome.log_lines,
    }
    body.update(error_data(outcome.error, clean=clean, unencodable_as_null=True))
    return body


def run_path_from_url(url_path: str) -> str:
    """``/api/run/dir/file/fn`` → ``"dir/file:fn"``."""
    parts = [p for p in url_path.split("/") if p]
    if len(parts) < 2:
        raise RequestError(
            "BadConvexFunctionIdentifier",
            f"/api/run/{url_path} does not name a module and a function",
        )
    return "/".join(parts[:-1]) + ":" + parts[-1]
