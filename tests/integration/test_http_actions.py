"""HTTP actions (reactive.http) over real sockets: the routes of tests/testapp/http.py, mounted in
tests/urls.py, served by a live daphne (and, for streaming, a live uvicorn) on the test
database, called with `requests`.

Routing follows Convex's httpRouter (exact path, then the longest prefix of the method; 405 with
``Allow`` for a path routed for other methods only; unrouted paths fall through to Django's 404),
every request runs through the executor as an action whose ctx is an `ActionCtx`, identity comes
from a Bearer JWT only, CORS follows convex-helpers' corsRouter, failures are Convex's 500
``{code, data?}``, bodies are capped at 20 MiB, and a streamed body reaches the client chunk by
chunk.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory

from reactive import internal, mutation
from reactive.errors import ConfigurationError, FunctionNotFound, SchedulerError
from reactive.functions.executor import execute
from reactive.functions.outcome import CallOptions
from reactive.http import Cors, HttpRouter, http_action
from tests.auth_support import HS_ISSUER, SECRET, JwksServer, start_auth_server, token
from tests.conftest import LiveServer
from tests.sync_client import RawSync
from tests.testapp import http as routes

ECHO = routes.echo.path  # "tests/testapp/http:echo"

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
APP = "https://app.example.test"


@pytest.fixture(scope="module")
def server(auth_server: LiveServer) -> LiveServer:
    """daphne, trusting the test issuers (tests/auth_support.py)."""
    return auth_server


def url(server: LiveServer, path: str) -> str:
    return server.url + path


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_channel(server: LiveServer) -> str:
    r = server.post(
        "/api/mutation",
        {"path": "testapp:create_channel", "args": {"name": unique("hooks")}, "format": "json"},
    )
    assert r.json()["status"] == "success", r.text
    channel: str = r.json()["value"]
    return channel


# -- routing ------------------------------------------------------------------------------------


def test_an_exact_route_takes_json_and_answers_json(server: LiveServer) -> None:
    r = requests.post(
        url(server, "/hooks/echo?q=1"),
        json={"hello": ["world", 1]},
        headers={"X-Probe": "probe"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["got"] == {"hello": ["world", 1]}
    assert (body["method"], body["path"], body["query"], body["header"]) == (
        "POST",
        "/hooks/echo",
        "1",
        "probe",
    )
    assert body["ctx"] == "ActionCtx" and body["is_action_ctx"] and body["has_scheduler"]
    # the same path, another method, the same handler
    assert requests.put(url(server, "/hooks/echo"), json=2, timeout=30).json()["method"] == "PUT"


def test_django_middleware_runs_around_http_actions(server: LiveServer) -> None:
    r = requests.post(url(server, "/hooks/echo"), json=None, timeout=30)
    assert r.headers["X-Test-Middleware"] == "seen"  # tests/middleware.py, on the response
    body = r.json()
    assert body["middleware"] is True  # ... and on the request the handler saw
    assert body["user_attached"] is True  # AuthenticationMiddleware ran too
    # other views do not get the mark: the middleware really looks at the path
    other = server.post("/api/query", {"path": "testapp:ping", "args": {}})
    assert "X-Test-Middleware" not in other.headers


def test_prefix_routes_the_longest_prefix_and_an_exact_path_wins(server: LiveServer) -> None:
    def get(path: str) -> str:
        r = requests.get(url(server, path), timeout=30)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.text

    assert get("/hooks/files/a/b.txt") == "prefix /hooks/files/ got /hooks/files/a/b.txt"
    assert get("/hooks/files/") == "prefix /hooks/files/ got /hooks/files/"
    assert get("/hooks/files/deep/x") == "prefix /hooks/files/deep/ got /hooks/files/deep/x"
    assert get("/hooks/files/exact") == "exact /hooks/files/exact"
    assert get("/hooks/files/exactly") == "prefix /hooks/files/ got /hooks/files/exactly"


def test_unrouted_paths_are_404_and_other_methods_405_with_allow(server: LiveServer) -> None:
    for path in ("/hooks/nope", "/hooks/echo/", "/nothing/here", "/hooks/file/x"):
        r = requests.post(url(server, path), timeout=30, allow_redirects=False)
        assert r.status_code == 404, (path, r.status_code, r.text)
    # the prefix without its slash is not routed; Django's APPEND_SLASH redirects to it
    r = requests.get(url(server, "/hooks/files"), timeout=30, allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"] == "/hooks/files/"
    r = requests.get(url(server, "/hooks/echo"), timeout=30)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST, PUT"
    assert r.json()["code"] == "MethodNotAllowed"
    # a prefix: GET and POST are routed under /hooks/files/, DELETE is not
    r = requests.delete(url(server, "/hooks/files/x"), timeout=30)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD, POST"
    # OPTIONS without CORS and without an OPTIONS route is just another method
    r = requests.options(url(server, "/hooks/echo"), timeout=30)
    assert r.status_code == 405 and "OPTIONS" not in r.headers["Allow"]


def test_head_runs_the_get_route_without_a_body(server: LiveServer) -> None:
    get = requests.get(url(server, "/hooks/files/a"), timeout=30)
    head = requests.head(url(server, "/hooks/files/a"), timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content)) != "0"


def test_a_router_mounted_under_a_prefix_routes_relative_paths(server: LiveServer) -> None:
    r = requests.get(url(server, "/cors/data"), timeout=30)
    assert r.status_code == 200 and r.json()["method"] == "GET"
    assert requests.get(url(server, "/data"), timeout=30).status_code == 404


# -- the executor -------------------------------------------------------------------------------


async def test_a_mutation_run_by_an_http_action_reaches_a_live_subscriber(
    server: LiveServer,
) -> None:
    channel = new_channel(server)
    sub = await RawSync.connect(server.ws_url)
    try:
        qid = await sub.subscribe("testapp/messages:list", {"channel": channel})
        assert sub.results[qid] == []
        body = unique("webhook")
        r = requests.post(
            url(server, "/hooks/send"), json={"channel": channel, "body": body}, timeout=30
        )
        assert r.status_code == 200, r.text
        await sub.until(lambda: [m["body"] for m in sub.results[qid]] == [body])
        assert sub.results[qid][0]["author"] == "hook"
        assert sub.results[qid][0]["_id"] == r.json()["id"]
        # an async handler, awaiting ctx.arun_mutation / ctx.arun_query
        second = unique("async")
        r = requests.post(
            url(server, "/hooks/asend"), json={"channel": channel, "body": second}, timeout=30
        )
        assert r.status_code == 200, r.text
        assert r.json()["count"] == 2
        await sub.until(lambda: len(sub.results[qid]) == 2)
    finally:
        await sub.close()


async def test_http_actions_are_not_functions_for_any_caller(server: LiveServer) -> None:
    path = ECHO
    assert path == "tests/testapp/http:echo"
    for endpoint in ("/api/action", "/api/function"):
        r = server.post(endpoint, {"path": path, "args": {}, "format": "json"})
        assert r.status_code == 200
        assert r.json()["status"] == "error"
        assert r.json()[
            "errorMessage"
        ] == f"Could not find public function for '{path}:default'" or (
            "Could not find public function" in r.json()["errorMessage"]
        )
    r = server.post("/api/run/tests/testapp/http/echo", {"args": {}})
    assert r.json()["status"] == "error" and "Could not find" in r.json()["errorMessage"]
    sub = await RawSync.connect(server.ws_url)
    try:
        response = await sub.call("Action", path, {})
        assert response["success"] is False
        assert "Could not find public function" in json.dumps(response["result"])
    finally:
        await sub.close()


def test_server_side_callers_cannot_call_or_schedule_an_http_action() -> None:
    """ctx.run_action, the scheduler, reactive.testing: there is no request to give it."""
    path = ECHO
    outcome = execute(path, {})
    assert isinstance(outcome.error, FunctionNotFound)
    assert "is an HTTP action" in outcome.error.message
    # ... and so is scheduling one: refused at once, nothing scheduled
    outcome = execute(schedule_hook.path, {})
    assert isinstance(outcome.error, SchedulerError), outcome.error
    assert f"{path} is an HTTP action" in outcome.error.message


@mutation(path="tests/http_actions_test:schedule_hook")
def schedule_hook(ctx: Any) -> None:
    ctx.scheduler.run_after(0, internal.tests.testapp.http.echo, {})


# -- auth ---------------------------------------------------------------------------------------


def whoami(server: LiveServer, **headers: str) -> requests.Response:
    return requests.get(url(server, "/hooks/whoami"), headers=headers, timeout=30)


def test_a_valid_bearer_token_is_the_identity(server: LiveServer) -> None:
    bearer = token(SECRET, iss=HS_ISSUER, kid=None, alg="HS256", sub="hook-user", name="Hook")
    r = whoami(server, Authorization=f"Bearer {bearer}")
    assert r.status_code == 200, r.text
    identity = r.json()["identity"]
    assert r.json()["async"] is True
    assert identity["issuer"] == HS_ISSUER and identity["subject"] == "hook-user"
    assert identity["tokenIdentifier"] == f"{HS_ISSUER}|hook-user"
    assert identity["name"] == "Hook"


def test_an_invalid_bearer_token_is_refused_before_the_handler_runs(server: LiveServer) -> None:
    channel = new_channel(server)
    forged = token("a-different-secret-of-at-least-32-bytes!", iss=HS_ISSUER, kid=None, alg="HS256")
    for header in (f"Bearer {forged}", "Bearer not-a-jwt", "Bearer"):
        r = whoami(server, Authorization=header)
        assert r.status_code == 401, (header, r.text)
        assert r.json()["code"] == "Unauthenticated"
    body = unique("forged")
    r = requests.post(
        url(server, "/hooks/send"),
        json={"channel": channel, "body": body},
        headers={"Authorization": f"Bearer {forged}"},
        timeout=30,
    )
    assert r.status_code == 401
    listed = server.post(
        "/api/query",
        {"path": "testapp/messages:list", "args": {"channel": channel}, "format": "json"},
    ).json()["value"]
    assert listed == []  # the handler did not run


def test_no_token_is_anonymous_and_the_session_cookie_is_ignored(server: LiveServer) -> None:
    assert whoami(server).json()["identity"] is None
    # another scheme is the handler's business (a webhook's Basic auth), not a refusal
    assert whoami(server, Authorization="Basic dXNlcjpwYXNz").json()["identity"] is None
    session = requests.Session()
    session.get(url(server, "/test/login"), params={"username": unique("cookie")}, timeout=30)
    api_identity = session.post(
        url(server, "/api/query"), json={"path": "testapp:whoami", "args": {}}, timeout=30
    ).json()["value"]
    assert api_identity is not None  # the session is real: the HTTP API sees it...
    assert session.get(url(server, "/hooks/whoami"), timeout=30).json()["identity"] is None
    # ... and an HTTP action, CSRF-exempt, takes a cookie-carrying POST without a CSRF token,
    # as nobody: a cross-site form can make it run, never as the visitor
    r = session.post(url(server, "/hooks/echo"), json=1, timeout=30)
    assert r.status_code == 201 and r.json()["identity"] is None


# -- CORS ---------------------------------------------------------------------------------------


def preflight(server: LiveServer, path: str, origin: str, method: str = "POST") -> Any:
    return requests.options(
        url(server, path),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,authorization",
        },
        timeout=30,
    )


def test_a_preflight_is_answered_for_every_route_with_cors(server: LiveServer) -> None:
    r = preflight(server, "/cors/data", APP)
    assert r.status_code == 204 and r.content == b""
    h = r.headers
    assert h["Access-Control-Allow-Origin"] == APP
    assert h["Access-Control-Allow-Methods"] == "GET, POST"  # as corsRouter: no OPTIONS
    assert h["Access-Control-Allow-Headers"] == "Content-Type, Authorization"
    assert h["Access-Control-Max-Age"] == "600"
    assert h["Access-Control-Allow-Credentials"] == "true"
    assert h["Vary"] == "Origin"
    # a prefix route: its methods
    r = preflight(server, "/cors/items/42", APP, "DELETE")
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Methods"] == "DELETE"
    assert r.headers["Access-Control-Allow-Origin"] == APP
    # an origin not allowed: an answer without Allow-Origin, which the browser refuses
    r = preflight(server, "/cors/data", "https://evil.example.test")
    assert r.status_code == 204
    assert "Access-Control-Allow-Origin" not in r.headers


def test_simple_requests_get_cors_headers_for_allowed_origins_only(server: LiveServer) -> None:
    r = requests.get(url(server, "/cors/data"), headers={"Origin": APP}, timeout=30)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == APP
    assert r.headers["Access-Control-Expose-Headers"] == "X-Total"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Vary"] == "Origin"
    assert r.headers["X-Total"] == "1"  # the handler's own headers are kept
    for origin in ("https://evil.example.test", "http://a.wild.test", "https://wild.test.evil"):
        r = requests.get(url(server, "/cors/data"), headers={"Origin": origin}, timeout=30)
        assert r.status_code == 200  # served; the browser keeps it from the page
        assert "Access-Control-Allow-Origin" not in r.headers, origin
    for origin in ("https://a.wild.test", "https://wild.test", "https://x.y.wild.test"):
        r = requests.get(url(server, "/cors/data"), headers={"Origin": origin}, timeout=30)
        assert r.headers["Access-Control-Allow-Origin"] == origin
    assert (
        "Access-Control-Allow-Origin"
        not in requests.get(url(server, "/cors/data"), timeout=30).headers
    )  # no Origin, no CORS
    # an error response carries them too, so the page can read the error
    r = requests.get(url(server, "/cors/fails"), headers={"Origin": APP}, timeout=30)
    assert r.status_code == 500 and r.headers["Access-Control-Allow-Origin"] == APP


def test_a_route_can_replace_or_drop_the_routers_cors(server: LiveServer) -> None:
    r = requests.get(url(server, "/cors/open"), headers={"Origin": "https://any.test"}, timeout=30)
    assert r.headers["Access-Control-Allow-Origin"] == "https://any.test"  # Cors(): "*", echoed
    assert "Access-Control-Allow-Credentials" not in r.headers
    assert r.headers["Access-Control-Expose-Headers"] == "Content-Range, Accept-Ranges"
    r = requests.get(url(server, "/cors/closed"), headers={"Origin": APP}, timeout=30)
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    assert preflight(server, "/cors/closed", APP, "GET").status_code == 405
    # a method not routed at a path with CORS: 405, and the preflight is in Allow
    r = requests.put(url(server, "/cors/data"), headers={"Origin": APP}, timeout=30)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert r.headers["Access-Control-Allow-Origin"] == APP


def test_enforced_origins_are_refused_with_403(server: LiveServer) -> None:
    r = requests.get(url(server, "/strict"), headers={"Origin": "https://evil.test"}, timeout=30)
    assert r.status_code == 403 and r.content == b""
    r = requests.get(url(server, "/strict"), headers={"Origin": APP}, timeout=30)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == APP


def test_a_manual_options_route_answers_as_written(server: LiveServer) -> None:
    r = preflight(server, "/hooks/manual", "https://manual.example.test")
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "https://manual.example.test"
    assert r.headers["Access-Control-Allow-Headers"] == "Content-Type, Digest"
    assert r.headers["X-Test-Middleware"] == "seen"
    assert requests.post(url(server, "/hooks/manual"), json=3, timeout=30).json()["got"] == 3


# -- errors -------------------------------------------------------------------------------------


def test_a_raising_handler_is_a_500_without_its_details(server: LiveServer) -> None:
    r = requests.post(url(server, "/hooks/boom"), timeout=30)
    assert r.status_code == 500
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"code"}  # no trace, no data outside DEBUG
    assert body["code"].startswith("[Request ID: ") and body["code"].endswith("] Server Error")
    assert "secret" not in r.text and "Traceback" not in r.text
    request_id = body["code"].split("[Request ID: ")[1].split("]")[0]
    deadline = time.monotonic() + 5
    while request_id not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.log()
    assert "Uncaught error in tests/testapp/http:boom" in log  # the traceback, server-side
    assert "RuntimeError: secret internal detail" in log
    assert (
        f"HTTP action tests/testapp/http:boom failed on POST /hooks/boom [Request ID: {request_id}]"
        in log
    )


def test_with_debug_the_message_and_trace_are_shown(settings: Any) -> None:
    """In-process (Django's test client runs the middleware and the async view)."""
    settings.DEBUG = True
    r = Client().post("/hooks/boom")
    assert r.status_code == 500
    body = r.json()
    assert "Server Error: Uncaught RuntimeError in tests/testapp/http:boom: secret" in body["code"]
    assert "Traceback" in body["trace"] and "secret internal detail" in body["trace"]


def test_a_convex_error_carries_its_data(server: LiveServer) -> None:
    r = requests.post(url(server, "/hooks/refuse"), timeout=30)
    assert r.status_code == 500
    body = r.json()
    assert body["data"] == {"code": "NOT_ALLOWED", "n": 3}
    assert "Server Error: Uncaught ConvexError" in body["code"]


def test_a_handler_returning_no_response_is_a_500_naming_it(server: LiveServer) -> None:
    r = requests.get(url(server, "/hooks/wrong_type"), timeout=30)
    assert r.status_code == 500
    code = r.json()["code"]
    assert "tests/testapp/http:wrong_type" in code and "wrong_type returned dict" in code
    assert "not a django.http.HttpResponse" in code


def test_request_bodies_over_20_mib_are_413(server: LiveServer) -> None:
    ok = requests.post(url(server, "/hooks/files/up"), data=b"a" * (3 * MiB), timeout=60)
    assert ok.status_code == 200, ok.text  # over Django's 2.5 MB form limit: not ours
    assert ok.json() == {"bytes": 3 * MiB, "read": 3 * MiB}
    exact = requests.post(url(server, "/hooks/files/up"), data=b"a" * (20 * MiB), timeout=60)
    assert exact.json()["bytes"] == 20 * MiB
    # refused from Content-Length
    r = requests.post(url(server, "/hooks/files/up"), data=b"a" * (20 * MiB + 1), timeout=60)
    assert r.status_code == 413 and r.json()["code"] == "RequestTooLarge"

    # refused while reading: a chunked body declares no length
    def chunks() -> Iterator[bytes]:
        for _ in range(21):
            yield b"b" * MiB

    r = requests.post(url(server, "/hooks/files/up"), data=chunks(), timeout=60)
    assert r.status_code == 413 and r.json()["code"] == "RequestTooLarge"


def test_a_response_over_20_mib_is_an_error(server: LiveServer) -> None:
    r = requests.get(url(server, "/hooks/huge"), timeout=60)
    assert r.status_code == 500
    assert "response body is over the 20971520 bytes" in r.json()["code"]


# -- streaming ----------------------------------------------------------------------------------


def read_streamed(server: LiveServer) -> None:
    """The first chunk arrives before the last one is produced (a second later)."""
    with requests.get(url(server, "/hooks/stream?pause=1.0"), stream=True, timeout=30) as r:
        assert r.status_code == 200
        chunks = r.iter_content(chunk_size=None)
        first = next(chunks)
        received_first = time.time()
        assert first == b"first\n"
        rest = b"".join(chunks).decode()
    word, produced, pong = rest.split()
    assert (word, pong) == ("last", "pong")  # the stream ran ctx.arun_query after returning
    assert received_first < float(produced) - 0.5, (received_first, produced)


def test_a_streamed_response_arrives_chunk_by_chunk_on_daphne(server: LiveServer) -> None:
    read_streamed(server)


@pytest.fixture(scope="module")
def uvicorn_server(
    jwks: JwksServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    live = start_auth_server(
        connection.settings_dict["NAME"],
        tmp_path_factory.mktemp("uvicorn"),
        jwks.url,
        server="uvicorn",
    )
    yield live
    live.stop()


def test_a_streamed_response_arrives_chunk_by_chunk_on_uvicorn(uvicorn_server: LiveServer) -> None:
    read_streamed(uvicorn_server)


def test_a_streamed_response_over_the_cap_is_cut_off(uvicorn_server: LiveServer) -> None:
    """The client sees a broken response, not a complete-looking truncated one."""
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url(uvicorn_server, "/small/overflow"), timeout=30).raise_for_status()
    assert "the streamed body went over 1000 bytes" in uvicorn_server.log()


def test_a_routers_own_cap_applies(server: LiveServer) -> None:
    ok = requests.post(url(server, "/small/upload"), data=b"a" * 1000, timeout=30)
    assert ok.json() == {"bytes": 1000, "read": 1000}
    r = requests.post(url(server, "/small/upload"), data=b"a" * 1001, timeout=30)
    assert r.status_code == 413 and "over the 1000 bytes" in r.json()["message"]


# -- declaring routes ---------------------------------------------------------------------------


def _handler(ctx: Any, request: Any) -> Any:
    raise AssertionError("never called")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "/a", "method": "TRACE"}, "'TRACE' is not an allowed HTTP method"),
        ({"path": "/a", "method": "HEAD"}, "HEAD is served by the GET route"),
        ({"path": "a", "method": "GET"}, "path 'a' does not start with a /"),
        ({"path_prefix": "/a", "method": "GET"}, "path_prefix '/a' must end with a /"),
        ({"path_prefix": "a/", "method": "GET"}, "does not start with a /"),
        ({"path": "/a", "path_prefix": "/a/", "method": "GET"}, "exactly one of path="),
        ({"method": "GET"}, "exactly one of path="),
    ],
)
def test_a_malformed_route_is_refused_at_declaration(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace("'", "'")):
        HttpRouter().route(handler=_handler, **kwargs)


def test_a_duplicate_route_is_refused_at_declaration() -> None:
    router = HttpRouter(cors=Cors())
    router.route(path="/a", method="GET", handler=_handler)
    router.route(path="/a", method="post", handler=_handler)  # another method is fine
    router.route(path_prefix="/a/", method="GET", handler=_handler)  # a prefix too
    with pytest.raises(ConfigurationError, match="Path '/a' for method GET already in use"):
        router.route(path="/a", method="GET", handler=_handler)
    with pytest.raises(ConfigurationError, match="GET path_prefix /a/ is already defined"):
        router.route(path_prefix="/a/", method="GET", handler=_handler)
    assert [r.describe() for r in router.routes()] == ["GET /a", "POST /a", "GET /a/*"]


def test_lambdas_and_closures_routed_side_by_side_keep_their_own_handlers() -> None:
    def make(n: int) -> Any:
        def handler(ctx: Any, request: Any) -> Any:
            return HttpResponse(str(n))

        return handler

    router = HttpRouter()
    one = router.route(path="/one", method="GET", handler=make(1))
    two = router.route(path="/two", method="GET", handler=make(2))
    three = router.route(path="/three", method="GET", handler=lambda ctx, request: None)
    four = router.route(path="/four", method="GET", handler=lambda ctx, request: None)
    paths = {r.action.path for r in (one, two, three, four)}
    assert len(paths) == 4, paths  # each its own path: the executor finds handlers by path
    for route, expected in ((one, b"1"), (two, b"2")):
        options = CallOptions(http_request=RequestFactory().get(route.path))
        assert execute(route.action, None, options=options).value.content == expected


def test_only_a_plain_function_can_be_an_http_action() -> None:
    from reactive import query

    @query(path="tests/http_declarations:q")
    def q(ctx: Any) -> int:
        return 1

    with pytest.raises(ConfigurationError, match="a query cannot be routed"):
        http_action(q)
    with pytest.raises(ConfigurationError, match="decorates a function"):
        http_action(42)  # type: ignore[arg-type]


def test_an_http_action_stores_the_body_through_ctx_storage(server: LiveServer) -> None:
    """Convex's upload-through-an-HTTP-action pattern: `ctx.storage.store`, then `get_url` on
    the request's own origin, whose download gives the same bytes back."""
    body = uuid.uuid4().bytes * 1000
    # reached as "localhost" (the other tests say 127.0.0.1): the URL must take this request's
    # origin, not one the process recorded for another call
    local = server.url.replace("127.0.0.1", "localhost")
    response = requests.post(
        f"{local}/hooks/store",
        data=body,
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["url"].startswith(f"{local}/"), answer
    download = requests.get(answer["url"], timeout=10)
    assert download.status_code == 200
    assert download.content == body
    assert download.headers["Content-Type"] == "application/octet-stream"
