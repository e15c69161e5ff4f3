"""Convex's HTTP API (protocol doc section 1) over a real socket, with raw `requests`."""

from __future__ import annotations

import base64
import json
import struct
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

# The live server commits to pytest-django's test database, which pytest-django (4.14) only
# creates when a collected test asks for database access: without this mark, running this module
# alone would point the server at the development database.
pytestmark = pytest.mark.django_db

MAX_REQUEST_BYTES = 1024 * 1024  # REACTIVE["MAX_REQUEST_BYTES"] in tests/settings.py


def b64_i64(n: int) -> str:
    return base64.b64encode(struct.pack("<q", n)).decode()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Api:
    """Raw HTTP calls against the live server."""

    def __init__(self, url: str) -> None:
        self.url = url

    def post(
        self,
        endpoint: str,
        body: Any = None,
        *,
        data: bytes | str | None = None,
        session: requests.Session | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        sender = session or requests
        if data is not None:
            headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
            return sender.post(
                self.url + endpoint, data=data, headers=headers, timeout=30, **kwargs
            )
        return sender.post(self.url + endpoint, json=body, timeout=30, **kwargs)

    def call(self, endpoint: str, path: str, args: Any = None, **body: Any) -> dict[str, Any]:
        """A function call that must come back as a UdfResponse (HTTP 200, JSON)."""
        payload = {"path": path, "args": [{} if args is None else args], **body}
        r = self.post(endpoint, payload)
        assert r.status_code == 200, (r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        result = r.json()
        assert result["status"] in ("success", "error"), result
        assert isinstance(result["logLines"], list), result
        return result

    def value(self, endpoint: str, path: str, args: Any = None, **body: Any) -> Any:
        result = self.call(endpoint, path, args, **body)
        assert result["status"] == "success", result
        return result["value"]

    def query(self, path: str, args: Any = None) -> Any:
        return self.value("/api/query", path, args)

    def mutation(self, path: str, args: Any = None) -> Any:
        return self.value("/api/mutation", path, args)

    def channel_names(self) -> list[str]:
        names = self.query("testapp:channel_names")
        assert isinstance(names, list)
        return names

    def assert_alive(self) -> None:
        assert self.query("testapp:ping") == "pong", "the server no longer answers"

    def protocol_error(
        self, r: requests.Response, status: int, code: str | None = None
    ) -> dict[str, Any]:
        """A rejected request: HTTP 4xx with the backend's `{code, message}` JSON shape."""
        assert r.status_code == status, (r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        body = r.json()
        assert set(body) == {"code", "message"}, body
        assert isinstance(body["code"], str) and body["code"], body
        assert isinstance(body["message"], str) and body["message"], body
        if code is not None:
            assert body["code"] == code, body
        return body

    def function_error(self, result: dict[str, Any], *fragments: str) -> str:
        """A function error: HTTP 200 `status: "error"` naming what went wrong."""
        assert result["status"] == "error", result
        assert "value" not in result, result
        message = result["errorMessage"]
        assert isinstance(message, str) and message, result
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"
        return message

    @contextmanager
    def nothing_written(self, *names: str) -> Iterator[None]:
        """The block must not create channels (in particular none of `names`), and the server
        must still answer afterwards."""
        before = self.channel_names()
        yield
        self.assert_alive()
        after = self.channel_names()
        assert sorted(after) == sorted(before), f"channels changed: {before} -> {after}"
        for name in names:
            assert name not in after, f"{name} was written"


@pytest.fixture
def api(asgi_server) -> Api:
    return Api(asgi_server.url)


# --- the request: endpoints, args and format ------------------------------------------------


def test_args_as_one_element_list_and_as_object(api: Api) -> None:
    for args in ([{"a": "x", "n": 2}], {"a": "x", "n": 2}):
        r = api.post(
            "/api/query", {"path": "testapp:echo", "args": args, "format": "convex_encoded_json"}
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "success", "value": {"a": "x", "n": 2}, "logLines": []}
    # `args` absent means {}.
    r = api.post("/api/query", {"path": "testapp:ping"})
    assert r.json()["value"] == "pong"


def test_args_of_the_wrong_shape_are_refused(api: Api) -> None:
    name = unique("shape")
    with api.nothing_written(name):
        r = api.post(
            "/api/mutation",
            {"path": "testapp:create_channel", "args": [{"name": name}, {"name": name}]},
        )
        api.protocol_error(r, 400)
        for args in ("x", [1], [[{"name": name}]]):
            result = api.post(
                "/api/mutation", {"path": "testapp:create_channel", "args": args}
            ).json()
            api.function_error(result, "testapp:create_channel", "object")


@pytest.mark.parametrize("fmt", [None, "convex_encoded_json", "convex_json"])
def test_convex_encoded_json_format(api: Api, fmt: str | None) -> None:
    extra = {} if fmt is None else {"format": fmt}
    assert api.value("/api/query", "testapp:big_int", **extra) == {
        "i": {"$integer": b64_i64(2**62)},
        "neg": {"$integer": "//////////8="},
        "f": 1.5,
        "n": 3,
    }
    data = base64.b64encode(b"\x01\x02\x03\xff").decode()
    assert api.value("/api/query", "testapp:bytes_echo", {"data": {"$bytes": data}}, **extra) == {
        "$bytes": base64.b64encode(b"\xff\x03\x02\x01").decode()
    }
    # Arguments are convex-encoded in every format.
    assert api.value("/api/query", "testapp:echo", {"i": {"$integer": b64_i64(-5)}}, **extra) == {
        "i": {"$integer": b64_i64(-5)}
    }
    special = {"$float": base64.b64encode(struct.pack("<d", float("inf"))).decode()}
    assert api.value("/api/query", "testapp:echo", {"x": special}, **extra) == {"x": special}


@pytest.mark.parametrize("fmt", ["json", "convex_clean_json"])
def test_clean_json_format(api: Api, fmt: str) -> None:
    assert api.value("/api/query", "testapp:big_int", format=fmt) == {
        "i": str(2**62),
        "neg": "-1",
        "f": 1.5,
        "n": 3,
    }
    data = base64.b64encode(b"\x01\x02\x03\xff").decode()
    assert (
        api.value("/api/query", "testapp:bytes_echo", {"data": {"$bytes": data}}, format=fmt)
        == base64.b64encode(b"\xff\x03\x02\x01").decode()
    )
    result = api.call("/api/query", "testapp:fail_convex", format=fmt)
    assert result["errorData"] == {"code": "NOPE", "n": "7"}


def test_unknown_format_is_refused(api: Api) -> None:
    name = unique("fmt")
    with api.nothing_written(name):
        r = api.post(
            "/api/mutation",
            {"path": "testapp:create_channel", "args": [{"name": name}], "format": "xml"},
        )
        body = api.protocol_error(r, 400)
        assert "xml" in body["message"]


def test_run_endpoint(api: Api) -> None:
    r = api.post("/api/run/testapp/ping", {"args": {}})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "success", "value": "pong", "logLines": []}
    r = api.post(
        "/api/run/testapp/echo", {"args": {"a": [1, "b"]}, "format": "convex_encoded_json"}
    )
    assert r.json()["value"] == {"a": [1, "b"]}
    channel = api.mutation("testapp:create_channel", {"name": unique("run")})
    r = api.post("/api/run/testapp/messages/list", {"args": {"channel": channel}})
    assert r.json() == {"status": "success", "value": [], "logLines": []}


def test_run_endpoint_defaults_to_clean_json(api: Api) -> None:
    """Section 1.1: `/api/run/...` takes `{args, format}` with "default format = clean JSON"."""
    r = api.post("/api/run/testapp/big_int", {"args": {}})
    assert r.status_code == 200, r.text
    assert r.json()["value"] == {"i": str(2**62), "neg": "-1", "f": 1.5, "n": 3}
    r = api.post("/api/run/testapp/big_int", {"args": {}, "format": "convex_encoded_json"})
    assert r.json()["value"]["i"] == {"$integer": b64_i64(2**62)}


def test_double_slash_after_the_address(api: Api) -> None:
    for endpoint in ("//api/query", "//api/mutation", "//api/action"):
        path = {
            "//api/query": "testapp:ping",
            "//api/mutation": "testapp:create_channel",
            "//api/action": "testapp:plain_action",
        }[endpoint]
        args = {"name": unique("slash")} if "mutation" in endpoint else {}
        result = api.call(endpoint, path, args, format="convex_encoded_json")
        assert result["status"] == "success", (endpoint, result)


def test_function_endpoint_with_object_args(api: Api) -> None:
    def function(path: str, args: dict[str, Any]) -> dict[str, Any]:
        r = api.post(
            "/api/function",
            {"componentPath": None, "path": path, "format": "convex_encoded_json", "args": args},
        )
        assert r.status_code == 200, r.text
        return r.json()

    assert function("testapp:echo", {"a": 1, "i": {"$integer": b64_i64(9)}})["value"] == {
        "a": 1,
        "i": {"$integer": b64_i64(9)},
    }
    name = unique("fn")
    channel = function("testapp:create_channel", {"name": name})["value"]
    assert isinstance(channel, str) and name in api.channel_names()
    assert function("testapp:plain_action", {"x": 21})["value"] == {"doubled": 42}
    # Without componentPath, as JSON.stringify drops an undefined one.
    r = api.post(
        "/api/function", {"path": "testapp:ping", "format": "convex_encoded_json", "args": {}}
    )
    assert r.json()["value"] == "pong"
    api.function_error(function("testapp:secret", {}), "Could not find public function")


def test_default_export_and_js_suffix_paths(api: Api) -> None:
    assert api.query("testapp") == "default export"
    assert api.query("testapp:default") == "default export"
    assert api.query("testapp.js:ping") == "pong"


# --- the response -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint,path,args,status",
    [
        ("/api/query", "testapp:ping", {}, "success"),
        ("/api/query", "testapp:whoami", {}, "success"),
        ("/api/query", "testapp:fail_convex", {}, "error"),
        ("/api/query", "testapp:boom", {}, "error"),
        ("/api/query", "testapp:bad_return", {}, "error"),
        ("/api/query", "testapp:nope", {}, "error"),
        ("/api/mutation", "testapp:write_then_fail", {"name": "resp-shape"}, "error"),
        ("/api/action", "testapp:plain_action", {"x": 1}, "success"),
        ("/api/action", "testapp:ping", {}, "error"),
    ],
)
def test_every_function_result_is_200_with_status_and_log_lines(
    api: Api, endpoint: str, path: str, args: dict[str, Any], status: str
) -> None:
    r = api.post(endpoint, {"path": path, "args": [args], "format": "convex_encoded_json"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["status"] == status, body
    assert isinstance(body["logLines"], list), body
    if status == "success":
        assert "value" in body, "value must be present, null included"
        assert set(body) == {"status", "value", "logLines"}, body
    else:
        assert isinstance(body["errorMessage"], str) and body["errorMessage"], body
        assert set(body) <= {"status", "errorMessage", "errorData", "logLines"}, body


def test_log_lines(api: Api) -> None:
    result = api.call("/api/query", "testapp:logs")
    assert result == {
        "status": "success",
        "value": "ok",
        "logLines": ["[LOG] hello 1", "[WARN] careful", "[ERROR] from logging"],
    }


def test_convex_error_carries_error_data(api: Api) -> None:
    result = api.call("/api/query", "testapp:fail_convex", format="convex_encoded_json")
    assert result["status"] == "error"
    assert result["errorData"] == {"code": "NOPE", "n": {"$integer": b64_i64(7)}}
    assert "ConvexError" in result["errorMessage"]
    result = api.call("/api/query", "testapp:fail_convex_string")
    assert result["errorData"] == "plain message"
    assert "plain message" in result["errorMessage"]


def test_plain_errors_have_no_error_data_and_hide_details(api: Api) -> None:
    result = api.call("/api/query", "testapp:boom")
    assert result["status"] == "error" and "errorData" not in result, result
    assert "secret internal detail" not in json.dumps(result), result
    assert "Server Error" in result["errorMessage"]


# --- CORS -------------------------------------------------------------------------------------


def test_cors_mirrors_the_origin_with_credentials(api: Api) -> None:
    origin = "http://app.example:3000"
    r = api.post("/api/query", {"path": "testapp:ping", "args": [{}]}, headers={"Origin": origin})
    assert r.status_code == 200
    assert r.headers.get("Access-Control-Allow-Origin") == origin
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    # Protocol errors carry the CORS headers too, or a browser could not read them.
    r = api.post("/api/query", data=b"{not json", headers={"Origin": origin})
    api.protocol_error(r, 400)
    assert r.headers.get("Access-Control-Allow-Origin") == origin
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"


@pytest.mark.parametrize(
    "endpoint", ["/api/query", "/api/mutation", "/api/action", "/api/function"]
)
def test_cors_preflight(api: Api, endpoint: str) -> None:
    origin = "http://app.example:3000"
    r = requests.options(
        api.url + endpoint,
        timeout=30,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,convex-client,authorization",
        },
    )
    assert 200 <= r.status_code < 300, (r.status_code, r.text)
    assert r.headers.get("Access-Control-Allow-Origin") == origin
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    methods = {m.strip().upper() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "OPTIONS", "PATCH", "DELETE", "PUT"} <= methods
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "convex-client", "authorization"} <= allowed
    assert r.headers.get("Access-Control-Max-Age") == "86400"


# --- identity from the Django session -----------------------------------------------------------


def test_session_identity_and_foreign_origin(api: Api) -> None:
    anonymous = api.call("/api/query", "testapp:whoami")
    assert anonymous == {"status": "success", "value": None, "logLines": []}

    with requests.Session() as session:
        r = session.get(api.url + "/test/login", params={"username": "alice"}, timeout=30)
        assert r.status_code == 200, r.text

        def whoami(**headers: str) -> Any:
            r = api.post(
                "/api/query",
                {"path": "testapp:whoami", "args": [{}]},
                session=session,
                headers=headers,
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["status"] == "success", body
            return body["value"]

        identity = whoami()
        assert isinstance(identity, dict), identity
        subject = identity["subject"]
        assert isinstance(subject, str) and subject
        assert identity["issuer"] == "django"
        assert identity["tokenIdentifier"] == f"django|{subject}"
        # The same origin as the server is still the session's user.
        assert whoami(Origin=api.url) == identity
        # A cross-site request carrying the visitor's cookie must not act as them.
        assert whoami(Origin="http://evil.example") is None
        # ...and that did not log the session out.
        assert whoami() == identity


def test_returning_the_identity_sends_convex_user_identity(api: Api) -> None:
    """`return ctx.auth.get_user_identity()` is Convex's UserIdentity object on the wire."""
    assert api.call("/api/query", "testapp:my_identity") == {
        "status": "success",
        "value": None,
        "logLines": [],
    }
    with requests.Session() as session:
        r = session.get(api.url + "/test/login", params={"username": "carol"}, timeout=30)
        assert r.status_code == 200, r.text
        r = api.post("/api/query", {"path": "testapp:my_identity", "args": [{}]}, session=session)
        body = r.json()
        assert body["status"] == "success", body
        identity = body["value"]
        subject = identity["subject"]
        assert identity == {
            "tokenIdentifier": f"django|{subject}",
            "subject": subject,
            "issuer": "django",
            "name": "carol",
            "email": "carol@x.test",
            "preferredUsername": "carol",
        }


# --- bad input: a clear error, the server stays up, nothing is written -------------------------


def test_malformed_json_body(api: Api) -> None:
    name = unique("badjson")
    with api.nothing_written(name):
        body = json.dumps({"path": "testapp:create_channel", "args": {"name": name}})[:-2]
        api.protocol_error(api.post("/api/mutation", data=body), 400)
        api.protocol_error(api.post("/api/mutation", data=b"\xff\xfe\x00garbage"), 400)
        api.protocol_error(api.post("/api/mutation", data=b""), 400)


@pytest.mark.parametrize("body", ["[1, 2]", '"testapp:create_channel"', "null", "42", "true"])
def test_json_that_is_not_an_object(api: Api, body: str) -> None:
    with api.nothing_written():
        msg = api.protocol_error(api.post("/api/mutation", data=body), 400)["message"]
        assert "object" in msg.lower()


@pytest.mark.parametrize("path", [None, "", 5, ["testapp:create_channel"]])
def test_missing_or_non_string_path(api: Api, path: Any) -> None:
    name = unique("nopath")
    body: dict[str, Any] = {"args": [{"name": name}], "format": "convex_encoded_json"}
    if path is not None:
        body["path"] = path
    with api.nothing_written(name):
        msg = api.protocol_error(api.post("/api/mutation", body), 400)["message"]
        assert "path" in msg


def test_wrong_argument_types(api: Api) -> None:
    args = {
        "s": 1,
        "n": 1,
        "f": 1.5,
        "b": True,
        "i": {"$integer": b64_i64(1)},
        "by": {"$bytes": ""},
    }
    message = api.function_error(
        api.call("/api/query", "testapp:typed", args), "testapp:typed", "s"
    )
    assert "string" in message
    name = unique("wrongtype")
    with api.nothing_written(name):
        api.function_error(
            api.call("/api/mutation", "testapp:create_channel", {"name": 1, "topic": name}),
            "testapp:create_channel",
            "name",
        )
        api.function_error(
            api.call("/api/mutation", "testapp:create_channel", {"name": name, "topic": 5}),
            "testapp:create_channel",
            "topic",
        )


def test_missing_field(api: Api) -> None:
    with api.nothing_written():
        api.function_error(
            api.call("/api/mutation", "testapp:create_channel", {"topic": "t"}),
            "testapp:create_channel",
            "name",
        )


def test_extra_field(api: Api) -> None:
    name = unique("extra")
    with api.nothing_written(name):
        api.function_error(
            api.call("/api/mutation", "testapp:create_channel", {"name": name, "bogus": 1}),
            "testapp:create_channel",
            "bogus",
        )


def test_unknown_path(api: Api) -> None:
    with api.nothing_written():
        for endpoint in ("/api/query", "/api/mutation", "/api/action"):
            api.function_error(
                api.call(endpoint, "testapp:no_such_function"),
                "Could not find public function",
                "testapp:no_such_function",
            )
        api.function_error(
            api.call("/api/mutation", "nosuchmodule/deeper:fn"), "Could not find public function"
        )


def test_internal_path(api: Api) -> None:
    name = unique("internal")
    with api.nothing_written(name):
        result = api.call("/api/query", "testapp:secret")
        api.function_error(result, "Could not find public function", "testapp:secret")
        assert "internal only" not in json.dumps(result)
        api.function_error(
            api.call("/api/mutation", "testapp:internal_touch", {"name": name}),
            "Could not find public function",
        )
    # internal_touch writes a counter: had it run, counter_inc would find the row and return 2.
    assert api.mutation("testapp:counter_inc", {"name": name}) == 1


def test_function_posted_to_the_wrong_endpoint(api: Api) -> None:
    name = unique("wrongkind")
    with api.nothing_written(name):
        message = api.function_error(api.call("/api/mutation", "testapp:ping"))
        assert "Query" in message, message
        # A mutation sent to /api/query must not run (and write) as a read.
        message = api.function_error(
            api.call("/api/query", "testapp:create_channel", {"name": name})
        )
        assert "Mutation" in message, message
        api.function_error(
            api.call("/api/action", "testapp:create_channel", {"name": name}), "Mutation"
        )
        api.function_error(api.call("/api/mutation", "testapp:plain_action"), "Action")


def test_oversized_body(api: Api) -> None:
    name = unique("huge")
    with api.nothing_written(name):
        for size in (MAX_REQUEST_BYTES + 1, 3 * MAX_REQUEST_BYTES):
            body = json.dumps(
                {"path": "testapp:create_channel", "args": [{"name": name, "topic": "x" * size}]}
            )
            r = api.post("/api/mutation", data=body)
            msg = api.protocol_error(r, 413, "RequestTooLarge")["message"]
            assert str(MAX_REQUEST_BYTES) in msg
    # Just under the limit is fine.
    big = "y" * (MAX_REQUEST_BYTES - 1000)
    assert api.query("testapp:echo", {"s": big}) == {"s": big}


def test_invalid_id_string(api: Api) -> None:
    channel = api.mutation("testapp:create_channel", {"name": unique("ids")})
    with api.nothing_written():
        for bad in ("not-an-id", "", channel[:-1], channel.upper() + "A"):
            api.function_error(
                api.call(
                    "/api/mutation", "testapp/messages:send", {"channel": bad, "body": "never"}
                ),
                "testapp/messages:send",
                "channel",
            )
        api.function_error(
            api.call("/api/query", "testapp/messages:list", {"channel": "not-an-id"}), "channel"
        )
    assert api.query("testapp/messages:list", {"channel": channel}) == []


def test_id_of_another_table(api: Api) -> None:
    channel = api.mutation("testapp:create_channel", {"name": unique("other")})
    message = api.mutation("testapp/messages:send", {"channel": channel, "body": "first"})
    with api.nothing_written():
        api.function_error(
            api.call(
                "/api/mutation",
                "testapp/messages:send",
                {"channel": message, "body": "wrong table"},
            ),
            "testapp/messages:send",
            "channel",
        )
        api.function_error(
            api.call("/api/query", "testapp/messages:list", {"channel": message}), "channel"
        )
    rows = api.query("testapp/messages:list", {"channel": channel})
    assert [row["body"] for row in rows] == ["first"]


@pytest.mark.parametrize(
    "encoded",
    [
        {"$integer": "not base64!"},
        {"$integer": "AAAA"},  # 3 bytes, not 8
        {"$integer": 5},
        {"$bytes": "***"},
        {"$float": b64_i64(0)[:4]},
        {"$float": base64.b64encode(struct.pack("<d", 1.5)).decode()},  # a normal number
        {"$set": []},
        {"$unknown": 1},
    ],
)
def test_bad_special_value_encoding(api: Api, encoded: dict[str, Any]) -> None:
    name = unique("badenc")
    (key,) = encoded
    with api.nothing_written(name):
        r = api.post(
            "/api/mutation",
            {
                "path": "testapp:create_channel",
                "args": [{"name": name, "topic": encoded}],
                "format": "convex_encoded_json",
            },
        )
        if r.status_code == 200:
            message = api.function_error(r.json())
        else:
            message = api.protocol_error(r, 400)["message"]
        assert key in message, message


def test_get_is_not_allowed(api: Api) -> None:
    for endpoint in (
        "/api/query",
        "/api/mutation",
        "/api/action",
        "/api/function",
        "/api/run/testapp/create_channel",
    ):
        r = requests.get(api.url + endpoint, params={"path": "testapp:ping"}, timeout=30)
        api.protocol_error(r, 405)
    api.assert_alive()


def test_mutation_that_fails_after_writing_leaves_nothing(api: Api) -> None:
    name = unique("rollback")
    with api.nothing_written(name):
        result = api.call("/api/mutation", "testapp:write_then_fail", {"name": name})
        api.function_error(result)
        assert result["errorData"] == {"code": "ROLLED_BACK"}
    # The name is free: the failed insert really was rolled back.
    assert isinstance(api.mutation("testapp:create_channel", {"name": name}), str)
    assert name in api.channel_names()


def test_server_survives_a_burst_of_bad_requests(api: Api) -> None:
    bad: list[Callable[[], requests.Response]] = [
        lambda: api.post("/api/mutation", data=b"{"),
        lambda: api.post("/api/query", {"path": "testapp:boom", "args": [{}]}),
        lambda: api.post("/api/query", {"path": "testapp:typed", "args": [{"s": 1}]}),
        lambda: api.post("/api/mutation", data=b"x" * (MAX_REQUEST_BYTES + 10)),
    ]
    with api.nothing_written():
        for _ in range(5):
            for send in bad:
                assert send().status_code in (200, 400, 413)


# --- consistentQuery: /api/query_ts and /api/query_at_ts ------------------------------------


def test_query_at_ts_reads_what_was_committed_before_the_timestamp(api: Api) -> None:
    name = unique("at-ts")
    api.mutation("testapp:create_channel", {"name": name})
    r = api.post("/api/query_ts", {})
    assert r.status_code == 200, r.text
    ts = r.json()["ts"]
    assert len(base64.b64decode(ts)) == 8
    names = api.value("/api/query_at_ts", "testapp:channel_names", ts=ts)
    assert name in names
    # the query's own errors are function errors, as on /api/query
    api.function_error(api.call("/api/query_at_ts", "testapp:boom", ts=ts), "Server Error")
    # only queries
    api.function_error(
        api.call("/api/query_at_ts", "testapp:create_channel", {"name": unique("no")}, ts=ts)
    )


@pytest.mark.parametrize(
    "ts",
    [
        None,
        12,
        "not base64!",
        base64.b64encode(b"1234").decode(),
        base64.b64encode((2**64 - 1).to_bytes(8, "little")).decode(),
        b64_i64(2**62),
    ],
)
def test_query_at_ts_refuses_a_bad_timestamp(api: Api, ts: Any) -> None:
    body: dict[str, Any] = {"path": "testapp:ping", "args": [{}]}
    if ts is not None:
        body["ts"] = ts
    message = api.protocol_error(api.post("/api/query_at_ts", body), 400, "BadTimestamp")
    assert "ts" in message["message"]
    api.assert_alive()
