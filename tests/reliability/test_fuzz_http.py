"""Fuzzing Convex's HTTP API (`/api/query|mutation|action|function`, `/api/run/<path>`).

Hypothesis makes the requests: well-formed JSON of the wrong shape (no path, a path that is not
a string, args as a list, string, number or nested junk, unknown formats, huge numbers, Convex
encodings such as `{"$integer": ...}` and `{"$bytes": ...}` with garbage inside), bodies that
are not JSON or not UTF-8, deep nesting, other methods and content types, junk Origin headers,
and real functions called with wrongly typed, missing or extra arguments.

Checked for every request: the status is never 5xx; a rejected request is a 4xx with the
backend's `{"code", "message"}` JSON; a function call is a 200 `UdfResponse` (`status`,
`logLines`, and a non-empty `errorMessage` that is not the hidden "Server Error" of an
unexpected exception); a wrongly typed argument names the function and the field; the server
process stays up and logs no traceback or ERROR. After the fuzz, a good request still works.

Fast in the normal run; `REACTIVE_LONG=1` runs many more (random) examples. Bugs the fuzzing
found are kept as plain tests at the end of the module.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.fuzz_support import (
    ServerWatch,
    b64,
    depths,
    fuzz_settings,
    int64,
    junk,
    keys,
    nested,
    texts,
)

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = object()

ENDPOINTS = [
    "/api/query",
    "/api/mutation",
    "/api/action",
    "/api/function",
    "//api/query",
    "/api/mutation/",
]
REAL_PATHS = [
    "testapp:ping",
    "testapp:echo",
    "testapp:typed",
    "testapp:v_style",
    "testapp:create_channel",
    "testapp:counter_inc",
    "testapp:counter_value",
    "testapp:plain_action",
    "testapp:bytes_echo",
    "testapp:channel_names",
    "testapp/messages:send",
    "testapp/messages:list",
    "testapp:secret",
    "testapp:internal_touch",
    "testapp:default",
    "testapp",
]
BAD_PATHS = [
    "",
    ":",
    "testapp:",
    ":ping",
    "testapp:nope",
    "nope:nope",
    "a/b/c:d",
    "testapp:ping.js",
    "testapp.js:ping",
    "../testapp:ping",
    "testapp:ping\x00",
    "testapp::ping",
    "/testapp:ping",
    "testapp:ping:ping",
    " testapp:ping",
    "testapp:" + "x" * 5000,
]
FORMATS = [
    "convex_encoded_json",
    "convex_json",
    "json",
    "convex_clean_json",
    "export_json",
    "",
    "JSON",
    "convex_encoded_json ",
]
# No multipart/form-data: daphne's HTTP layer (twisted) parses such a body itself and answers a
# non-multipart one with a bare `400` before the application sees it; that is not reactive's.
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "multipart/mixed; boundary=x",
    "",
    "application/x-ndjson",
    "*/*",
]
ORIGINS = [
    None,
    "http://127.0.0.1",
    "http://evil.example",
    "null",
    "file://",
    "http://[::1",
    "http://a:b@c:d",
    "://",
    "http://" + "x" * 300,
]

paths = st.one_of(
    st.just(MISSING), st.sampled_from(REAL_PATHS), st.sampled_from(BAD_PATHS), texts, junk
)
arg_objects = st.dictionaries(
    st.one_of(keys, st.sampled_from(["s", "n", "name", "x", "channel"])), junk, max_size=4
)
args = st.one_of(
    st.just(MISSING),
    junk,
    arg_objects,
    arg_objects.map(lambda a: [a]),
    st.lists(junk, max_size=3),
    st.lists(arg_objects, min_size=2, max_size=3),
)
formats = st.one_of(st.just(MISSING), st.sampled_from(FORMATS), junk)


@st.composite
def body_objects(draw: Any) -> dict[str, Any]:
    """A JSON object with `path`, `args` and `format` each absent, right or wrong."""
    body = draw(st.dictionaries(keys, junk, max_size=2))
    for key, strategy in (("path", paths), ("args", args), ("format", formats)):
        value = draw(strategy)
        if value is not MISSING:
            body[key] = value
    return body


def dumps(value: Any, ascii_only: bool) -> bytes:
    # a lone surrogate written raw is not UTF-8: the server must say so, not choke on it
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True).encode(
        "utf-8", errors="surrogatepass"
    )


GOOD = json.dumps(
    {"path": "testapp:echo", "args": [{"x": 1.5, "s": "é"}], "format": "convex_encoded_json"}
).encode()


@st.composite
def broken_bytes(draw: Any) -> bytes:
    """A good body broken at the byte level, or not JSON at all."""
    how = draw(
        st.sampled_from(
            [
                "truncate",
                "insert",
                "replace",
                "bom",
                "utf16",
                "utf32",
                "latin1",
                "binary",
                "text",
                "nan",
                "deep_args",
                "deep_body",
                "big_number",
                "number_body",
            ]
        )
    )
    if how == "truncate":
        return GOOD[: draw(st.integers(0, len(GOOD) - 1))]
    if how == "insert":
        i = draw(st.integers(0, len(GOOD)))
        return GOOD[:i] + draw(st.binary(min_size=1, max_size=4)) + GOOD[i:]
    if how == "replace":
        i = draw(st.integers(0, len(GOOD) - 1))
        return GOOD[:i] + draw(st.binary(min_size=1, max_size=1)) + GOOD[i + 1 :]
    if how == "bom":
        return draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + GOOD
    if how == "utf16":
        return GOOD.decode().encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"])))
    if how == "utf32":
        return GOOD.decode().encode("utf-32")
    if how == "latin1":
        return GOOD.decode().encode("latin-1")  # é as one byte: not UTF-8
    if how == "binary":
        return draw(st.binary(max_size=64))
    if how == "text":
        return draw(st.text(max_size=64)).encode("utf-8", errors="surrogatepass")
    if how == "nan":
        token = draw(
            st.sampled_from(
                [
                    "NaN",
                    "Infinity",
                    "-Infinity",
                    "1e400",
                    "-1e400",
                    "1e-400",
                    "-0.0",
                    "0e0",
                    "-0",
                    "1E+2",
                ]
            )
        )
        return b'{"path":"testapp:echo","args":{"x":' + token.encode() + b"}}"
    if how == "deep_args":
        inner = nested(draw(depths), draw(st.sampled_from(["[", "{"])))
        return b'{"path":"testapp:echo","args":{"x":' + inner.encode() + b"}}"
    if how == "deep_body":
        return nested(draw(depths), draw(st.sampled_from(["[", "{"]))).encode()
    digits = draw(st.integers(min_value=1, max_value=5000))
    number = (
        draw(st.sampled_from(["", "-"]))
        + "9" * digits
        + draw(st.sampled_from(["", ".5", "e3", "e-999", "e999"]))
    )
    if how == "big_number":
        return b'{"path":"testapp:echo","args":{"x":' + number.encode() + b"}}"
    return number.encode()


bodies = st.one_of(
    st.builds(dumps, body_objects(), st.booleans()),
    st.builds(dumps, junk, st.booleans()),
    broken_bytes(),
)


class Api:
    def __init__(self, server: Any) -> None:
        self.url = server.url
        self.watch = ServerWatch(server)
        self.session = requests.Session()

    def send(
        self,
        method: str,
        endpoint: str,
        body: bytes,
        content_type: str | None = None,
        origin: str | None = None,
    ) -> requests.Response:
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if origin is not None:
            headers["Origin"] = origin
        return self.session.request(
            method, self.url + endpoint, data=body, headers=headers, timeout=30
        )

    def check(self, r: requests.Response, what: str) -> dict[str, Any] | None:
        """The response is a clear answer (never 5xx); returns its JSON (None for a 204)."""
        where = f"{what}\n -> {r.status_code} {r.text[:500]!r}"
        assert r.status_code < 500, f"server error for {where}"
        if r.status_code == 204:
            assert r.request.method == "OPTIONS", where
            return None
        assert r.headers.get("Content-Type", "").startswith("application/json"), where
        try:
            body = r.json()
        except ValueError:
            raise AssertionError(f"not JSON: {where}") from None
        assert isinstance(body, dict), where
        if r.status_code == 200:
            assert body.get("status") in ("success", "error"), where
            assert isinstance(body.get("logLines"), list), where
            if body["status"] == "error":
                message = body.get("errorMessage")
                assert isinstance(message, str) and message.strip(), where
                # the hidden message of an unexpected exception: not a clear error
                assert message != "Server Error", f"an unexpected exception for {where}"
            else:
                assert "value" in body, where
        else:
            assert 400 <= r.status_code < 500, where
            assert set(body) == {"code", "message"}, where
            assert isinstance(body["code"], str) and body["code"], where
            assert isinstance(body["message"], str) and body["message"].strip(), where
        return body

    def call(self, endpoint: str, body: Any) -> dict[str, Any]:
        r = self.send("POST", endpoint, json.dumps(body).encode(), "application/json")
        result = self.check(r, f"POST {endpoint} {body}")
        assert r.status_code == 200 and result is not None, r.text
        return result

    def assert_healthy(self, after: str) -> None:
        self.watch.check(after)
        assert self.call("/api/query", {"path": "testapp:ping", "args": {}})["value"] == "pong"
        name = f"fz-{uuid.uuid4().hex[:12]}"
        result = self.call(
            "/api/mutation", {"path": "testapp:counter_inc", "args": [{"name": name}]}
        )
        assert result == {"status": "success", "value": 1.0, "logLines": []}, result
        self.watch.check(f"a good request after {after}")


@pytest.fixture
def api(asgi_server: Any) -> Any:
    client = Api(asgi_server)
    yield client
    client.session.close()


def describe(
    method: str, endpoint: str, body: bytes, content_type: str | None, origin: str | None
) -> str:
    shown = body if len(body) <= 300 else body[:300] + b"...(%d bytes)" % len(body)
    return f"{method} {endpoint} Content-Type={content_type!r} Origin={origin!r} body={shown!r}"


# --- the fuzz -------------------------------------------------------------------------------------


def test_fuzzed_requests_get_clear_answers(api: Api) -> None:
    @fuzz_settings(fast=200, long=4000)
    @given(
        endpoint=st.sampled_from(ENDPOINTS),
        body=bodies,
        method=st.sampled_from(["POST"] * 8 + ["PUT", "PATCH", "DELETE", "OPTIONS"]),
        content_type=st.sampled_from(CONTENT_TYPES),
        origin=st.sampled_from(ORIGINS),
    )
    def one(
        endpoint: str, body: bytes, method: str, content_type: str | None, origin: str | None
    ) -> None:
        what = describe(method, endpoint, body, content_type, origin)
        with api.watch.example(what):
            r = api.send(method, endpoint, body, content_type, origin)
            api.check(r, what)
            if method not in ("POST", "OPTIONS"):
                assert r.status_code == 405, what

    one()
    api.assert_healthy("the fuzzed requests")


run_paths = st.one_of(
    st.sampled_from(
        [
            "testapp/echo",
            "testapp/ping",
            "testapp/messages/list",
            "testapp/secret",
            "testapp/create_channel",
            "testapp/typed",
            "testapp",
            "x",
            "/",
            "testapp//ping",
            "testapp/ping/",
            "testapp/ping.js",
            "testapp.js/ping",
            "-/-",
            "_/_",
            "testapp/" + "x" * 3000,
        ]
    ),
    # no "." or ".." segments: the client resolves them, and the URL is no longer /api/run/...
    st.from_regex(r"[A-Za-z0-9_/.\-]{1,40}", fullmatch=True).filter(
        lambda p: not {".", ".."} & set(p.split("/"))
    ),
)


@st.composite
def run_bodies(draw: Any) -> bytes:
    """`/api/run` bodies: `args` and `format` (its path is in the URL), or any junk body."""
    if draw(st.booleans()):
        return draw(bodies)
    body = {}
    for key, strategy in (("args", args), ("format", formats)):
        value = draw(strategy)
        if value is not MISSING:
            body[key] = value
    return dumps(body, draw(st.booleans()))


def test_fuzzed_run_urls_get_clear_answers(api: Api) -> None:
    @fuzz_settings(fast=80, long=1500)
    @given(fn_path=run_paths, body=run_bodies(), content_type=st.sampled_from(CONTENT_TYPES))
    def one(fn_path: str, body: bytes, content_type: str | None) -> None:
        endpoint = "/api/run/" + fn_path
        what = describe("POST", endpoint, body, content_type, None)
        with api.watch.example(what):
            api.check(api.send("POST", endpoint, body, content_type), what)

    one()
    api.assert_healthy("the fuzzed /api/run calls")


# --- wrongly typed arguments of real functions ---------------------------------------------------

int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1).map(int64)
bytes_values = st.binary(max_size=16).map(lambda raw: {"$bytes": b64(raw)})
plain_text = st.text(max_size=12)  # what a Postgres text column can hold, for the good values
finite = st.floats(allow_nan=False, allow_infinity=False)
not_a_number = st.one_of(
    plain_text,
    st.booleans(),
    st.none(),
    st.lists(finite, max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), finite, max_size=2),
    bytes_values,
)
not_a_string = st.one_of(
    finite,
    st.booleans(),
    st.none(),
    int64s,
    bytes_values,
    st.lists(plain_text, max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), plain_text, max_size=2),
)

# field -> (good values, wrong values), as convex-encoded JSON
TYPED = {
    "s": (plain_text, not_a_string),
    "n": (
        st.integers(-1000, 1000).map(float),
        st.one_of(
            st.floats().filter(lambda x: not math.isfinite(x) or not x.is_integer()), not_a_number
        ),
    ),
    "f": (finite, not_a_number),
    "b": (
        st.booleans(),
        st.one_of(finite, plain_text, st.none(), st.lists(st.booleans(), max_size=2)),
    ),
    "i": (int64s, st.one_of(finite, plain_text, st.none(), bytes_values, st.booleans())),
    "by": (
        bytes_values,
        st.one_of(
            plain_text, finite, st.none(), int64s, st.booleans(), st.lists(finite, max_size=2)
        ),
    ),
    "opt": (
        st.one_of(st.none(), plain_text),
        st.one_of(finite, st.booleans(), int64s, bytes_values),
    ),
    "tags": (
        st.one_of(st.none(), st.lists(plain_text, max_size=3)),
        st.one_of(plain_text, finite, st.lists(not_a_string, min_size=1, max_size=3)),
    ),
}
TYPED_REQUIRED = ["s", "n", "f", "b", "i", "by"]

V_STYLE = {
    "name": (plain_text, not_a_string),
    "count": (finite, st.one_of(plain_text, st.booleans(), st.none(), int64s, bytes_values)),
    "big": (int64s, st.one_of(finite, plain_text, st.none(), bytes_values)),
    "flag": (st.booleans(), st.one_of(finite, plain_text, st.none())),
    "nothing": (st.none(), st.one_of(finite, plain_text, st.booleans(), st.just([]))),
    "blob": (bytes_values, st.one_of(plain_text, finite, st.none(), int64s)),
    "channel": (
        st.just("<channel>"),
        st.one_of(
            st.sampled_from(["", "not-an-id", "aaaaaaaaaaaaaaaaaaaa", "<message>"]),
            finite,
            st.none(),
        ),
    ),
    "items": (
        st.lists(st.fixed_dictionaries({"k": plain_text}, optional={"n": finite}), max_size=2),
        st.one_of(
            plain_text,
            st.lists(st.fixed_dictionaries({"k": finite}), min_size=1, max_size=2),
            st.just([{"k": "x", "extra": 1.0}]),
            st.just([{"n": 1.0}]),
        ),
    ),
    "scores": (
        st.dictionaries(st.sampled_from(["a", "b", "c"]), finite, max_size=2),
        st.one_of(st.just({"a": "x"}), st.lists(finite, max_size=1), plain_text),
    ),
    "choice": (st.sampled_from(["a", "b"]), st.one_of(st.sampled_from(["c", "A", ""]), finite)),
    "maybe": (plain_text, st.one_of(finite, st.booleans(), st.none())),
    "anything": (
        st.recursive(
            st.one_of(st.none(), st.booleans(), finite, plain_text, int64s, bytes_values),
            lambda inner: st.one_of(
                st.lists(inner, max_size=3),
                st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2),
            ),
            max_leaves=6,
        ),
        None,
    ),
}
V_STYLE_REQUIRED = [k for k in V_STYLE if k != "maybe"]

SEND = {
    "channel": (
        st.just("<channel>"),
        st.one_of(st.sampled_from(["", "not-an-id", "<message>"]), finite, st.none(), int64s),
    ),
    "body": (plain_text, not_a_string),
    "author": (plain_text, not_a_string),
    "score": (
        st.integers(-100, 100).map(float),
        st.one_of(st.just(0.5), plain_text, st.booleans()),
    ),
}
SPECS = {
    ("/api/query", "testapp:typed"): (TYPED, TYPED_REQUIRED),
    ("/api/query", "testapp:v_style"): (V_STYLE, V_STYLE_REQUIRED),
    ("/api/mutation", "testapp/messages:send"): (SEND, ["channel", "body"]),
}


@st.composite
def wrong_calls(draw: Any) -> tuple[str, str, dict[str, Any], list[str]]:
    """A call with 1-2 fields wrong (a wrong type, or missing) and maybe an unknown one;
    returns the fields the error must name too."""
    endpoint, path = draw(st.sampled_from(sorted(SPECS)))
    fields, required = SPECS[(endpoint, path)]
    args: dict[str, Any] = {}
    for name, (good, _) in fields.items():
        if name in required or draw(st.booleans()):
            args[name] = draw(good)
    breakable = [n for n, (_, bad) in fields.items() if bad is not None]
    broken = draw(st.lists(st.sampled_from(breakable), min_size=1, max_size=2, unique=True))
    wrong: list[str] = []
    for name in broken:
        how = draw(st.sampled_from(["type", "missing"] if name in required else ["type"]))
        if how == "missing":
            args.pop(name, None)
        else:
            args[name] = draw(fields[name][1])
        wrong.append(name)
    if draw(st.booleans()):
        extra = draw(st.sampled_from(["extra", "Name", "s2", "_id", "x_y"]))
        if extra not in fields:
            args[extra] = draw(st.one_of(st.none(), finite, plain_text))
            wrong.append(extra)
    return endpoint, path, args, wrong


def test_wrongly_typed_args_name_the_function_and_the_field(api: Api, ids: dict[str, str]) -> None:
    @fuzz_settings(fast=100, long=2000)
    @given(call=wrong_calls(), as_list=st.booleans())
    def one(call: tuple[str, str, dict[str, Any], list[str]], as_list: bool) -> None:
        endpoint, path, call_args, wrong = call
        call_args = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in call_args.items()}
        body = {
            "path": path,
            "args": [call_args] if as_list else call_args,
            "format": "convex_encoded_json",
        }
        what = f"POST {endpoint} {json.dumps(body)[:600]}"
        with api.watch.example(what):
            result = api.call(endpoint, body)
            what += f"\n -> {result}"
            assert result["status"] == "error", f"wrong args accepted: {what}"
            message = result["errorMessage"]
            assert "ArgumentValidationError" in message and path in message, what
            for name in wrong:
                assert f"`{name}" in message, f"the message does not name `{name}`: {what}"

    one()
    api.assert_healthy("the wrongly typed calls")


@pytest.fixture
def ids(api: Api) -> dict[str, str]:
    """A real channel id and an id of another table, for the `v.id("channels")` fields."""
    name = f"fz-{uuid.uuid4().hex[:12]}"
    channel = api.call("/api/mutation", {"path": "testapp:create_channel", "args": {"name": name}})[
        "value"
    ]
    message = api.call(
        "/api/mutation",
        {"path": "testapp/messages:send", "args": {"channel": channel, "body": "x"}},
    )["value"]
    return {"<channel>": channel, "<message>": message}


# --- bugs the fuzzing found (minimal reproductions) ---------------------------------------------


def post_raw(api: Api, endpoint: str, body: bytes) -> requests.Response:
    return api.send("POST", endpoint, body, "application/json")


@pytest.mark.parametrize("fmt", [[], {}, ["json"]])
def test_unhashable_format_is_a_400(api: Api, fmt: Any) -> None:
    """`format` is looked up in a dict: a list or object raised TypeError -> HTTP 500."""
    r = post_raw(api, "/api/query", json.dumps({"path": "testapp:ping", "format": fmt}).encode())
    body = api.check(r, f"format={fmt!r}")
    assert r.status_code == 400 and body is not None and body["code"] == "BadFormat", r.text
    r = post_raw(api, "/api/run/testapp/ping", json.dumps({"format": fmt}).encode())
    assert r.status_code == 400, r.text
    api.watch.check(f"format={fmt!r}")


@pytest.mark.parametrize("number", ["1" + "0" * 309, "-" + "9" * 400, "1" * 4000])
def test_integer_beyond_float64_in_args_is_a_400(api: Api, number: str) -> None:
    """A JSON integer literal beyond float64's range: float() raised OverflowError -> 500."""
    body = b'{"path":"testapp:echo","args":{"x":' + number.encode() + b"}}"
    r = post_raw(api, "/api/query", body)
    assert api.check(r, f"x={number[:20]}...") is not None
    assert r.status_code == 400, r.text
    api.watch.check(f"an integer of {len(number)} digits")


@pytest.mark.parametrize("depth, where", [(1000, "args"), (5000, "args"), (100_000, "body")])
def test_deeply_nested_json_is_a_400(api: Api, depth: int, where: str) -> None:
    """Deep nesting: json.loads or values.decode raised RecursionError -> HTTP 500."""
    inner = nested(depth).encode()
    body = inner if where == "body" else b'{"path":"testapp:echo","args":{"x":' + inner + b"}}"
    r = post_raw(api, "/api/query", body)
    assert api.check(r, f"nesting {depth} deep in the {where}") is not None
    assert r.status_code == 400, r.text
    api.watch.check(f"nesting {depth} deep")


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b"])
@pytest.mark.parametrize(
    "endpoint, path, field",
    [
        ("/api/mutation", "testapp:create_channel", "name"),
        ("/api/query", "testapp:counter_value", "name"),
    ],
)
def test_strings_postgres_cannot_hold_get_a_clear_error(
    api: Api, text: str, endpoint: str, path: str, field: str
) -> None:
    """A NUL or a lone surrogate in a string reaching Postgres: psycopg's DataError /
    UnicodeEncodeError became the hidden "Server Error", with a traceback in the log."""
    body = json.dumps({"path": path, "args": {field: text}}).encode()
    r = post_raw(api, endpoint, body)
    result = api.check(r, f"{path} {field}={text!r}")
    assert result is not None
    if r.status_code == 200 and result["status"] == "error":
        assert path in result["errorMessage"] or field in result["errorMessage"], result
    api.watch.check(f"{path} with {field}={text!r}")
