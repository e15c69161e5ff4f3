"""The failures docs/troubleshooting.md describes are loud: a WebSocket client reaching the HTTP
handler gets a 426 naming the fix and an ERROR line in the server's log (not a silent 404 or
500), and an ASGI application that routes no WebSockets is system check reactive.W011."""

from __future__ import annotations

import asyncio
import logging

import pytest
from channels.routing import ProtocolTypeRouter
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient, Client, override_settings

from reactive.checks import check_asgi

PLAIN = ASGIHandler()  # what `get_asgi_application()` returns
HTTP_ONLY = ProtocolTypeRouter({"http": PLAIN})
WITH_SOCKETS = ProtocolTypeRouter({"http": PLAIN, "websocket": PLAIN})
OTHER = object()  # a wrapper of unknown kind: not inspected


@pytest.mark.parametrize("path", ["/api/1.48.0/sync", "/api/sync", "/api/1.31.2/sync"])
def test_sync_path_over_http_is_426_naming_the_fix(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="reactive.sync"):
        response = Client().get(path, HTTP_UPGRADE="websocket", HTTP_CONNECTION="Upgrade")
    assert response.status_code == 426
    body = response.content.decode()
    assert "asgi.py" in body and "sync_application()" in body
    assert "docs/troubleshooting.md#asgi" in body
    [record] = [r for r in caplog.records if r.name == "reactive.sync"]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert path in message and "asgi.py" in message and "docs/troubleshooting.md" in message


@pytest.mark.parametrize(
    ("headers", "cause", "fix"),
    [
        # uvicorn without websockets/wsproto passes the handshake on as HTTP: asgi.py may be
        # right, so the answer must not send the reader there alone
        (
            {"Upgrade": "websocket", "Connection": "Upgrade"},
            "the ASGI server handed a WebSocket handshake to the HTTP handler",
            "pip install 'uvicorn[standard]'",
        ),
        # a proxy that drops the Upgrade header: a plain GET arrives
        ({}, "a proxy in front of the server does not pass WebSocket upgrades", "$http_upgrade"),
    ],
)
def test_under_asgi_the_426_names_the_server_or_the_proxy(
    headers: dict[str, str], cause: str, fix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="reactive.sync"):
        response = asyncio.run(AsyncClient().get("/api/1.48.0/sync", headers=headers))
    assert response.status_code == 426
    body = response.content.decode()
    assert cause in body and fix in body and "WSGI" not in body, body
    [record] = [r for r in caplog.records if r.name == "reactive.sync"]
    assert cause in record.getMessage()


def test_under_wsgi_the_426_says_wsgi() -> None:
    body = Client().get("/api/sync", HTTP_UPGRADE="websocket").content.decode()
    assert "this server is a WSGI one, which cannot serve WebSockets" in body, body


def test_other_api_paths_are_not_taken() -> None:
    assert Client().get("/api/run/sync").status_code != 426
    assert Client().get("/api/1.48.0/sync/extra").status_code == 404


@pytest.mark.parametrize(
    ("application", "warned"),
    [
        ("tests.unit.test_docs_troubleshooting.PLAIN", True),
        ("tests.unit.test_docs_troubleshooting.HTTP_ONLY", True),
        ("tests.unit.test_docs_troubleshooting.WITH_SOCKETS", False),
        ("tests.unit.test_docs_troubleshooting.OTHER", False),
        ("tests.asgi.application", False),
        ("no_such_module.application", False),  # the ASGI server says so, with a traceback
        (None, False),  # WSGI: the 426 above
    ],
)
def test_asgi_application_without_websockets_is_w011(application: str | None, warned: bool) -> None:
    with override_settings(ASGI_APPLICATION=application):
        found = check_asgi()
    assert [m.id for m in found] == (["reactive.W011"] if warned else [])
    if warned:
        assert repr(application) in found[0].msg and "Unexpected server response: 500" in (
            found[0].msg
        )
        assert "sync_application()" in str(found[0].hint)
