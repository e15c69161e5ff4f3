"""reactive.routing: the browser Origin check in front of the sync consumer, driven through
Channels' WebsocketCommunicator around a consumer that accepts every socket. No database."""

from __future__ import annotations

from typing import Any

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from reactive.routing import BrowserOriginValidator


class Accept(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()


async def handshake(app: Any, origin: bytes | None) -> bool:
    headers = [] if origin is None else [(b"origin", origin)]
    communicator = WebsocketCommunicator(app, "/api/sync", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


def checked() -> Any:
    return BrowserOriginValidator(Accept.as_asgi())


# tests.settings: ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"], DEBUG off


@pytest.mark.parametrize(
    "origin, allowed",
    [
        (None, True),  # not a browser (the Python and Node clients)
        (b"", True),
        (b"http://127.0.0.1:8000", True),
        (b"https://localhost", True),
        (b"http://LOCALHOST.:3000", True),  # Django's host rules: case, a trailing dot
        (b"http://evil.example", False),
        (b"http://localhost.evil.example", False),
        (b"null", False),  # a sandboxed page or a file: URL
        (b"not a url", False),
    ],
)
async def test_a_browser_origin_must_be_an_allowed_host(
    origin: bytes | None, allowed: bool
) -> None:
    assert await handshake(checked(), origin) is allowed


async def test_allowed_hosts_are_read_at_each_handshake() -> None:
    app = checked()
    with override_settings(ALLOWED_HOSTS=["app.example"]):
        assert await handshake(app, b"https://app.example")
        assert not await handshake(app, b"http://127.0.0.1")


async def test_under_debug_without_allowed_hosts_local_origins_are_allowed() -> None:
    with override_settings(DEBUG=True, ALLOWED_HOSTS=[]):
        assert await handshake(checked(), b"http://app.localhost:5173")  # Django's .localhost
        assert await handshake(checked(), b"http://[::1]:8000")
        assert not await handshake(checked(), b"http://evil.example")


async def test_channels_own_validator_would_refuse_clients_that_send_no_origin() -> None:
    """Why routing does not use AllowedHostsOriginValidator as it is."""
    assert not await handshake(AllowedHostsOriginValidator(Accept.as_asgi()), None)


async def test_the_sync_application_hands_the_consumer_the_servers_own_send() -> None:
    """Frames skip the session middleware's send wrapper (it acts on HTTP responses only):
    the scope carries the server's send, which is not the consumer's wrapped one."""
    from channels.auth import AuthMiddlewareStack

    from reactive.consumers import SERVER_SEND
    from reactive.routing import _KeepServerSend

    seen: dict[str, Any] = {}

    class Record(AsyncWebsocketConsumer):
        async def connect(self) -> None:
            seen["server"], seen["consumer"] = self.scope.get(SERVER_SEND), self.base_send
            await self.accept()
            await self.scope[SERVER_SEND]({"type": "websocket.send", "text": "frame"})

    communicator = WebsocketCommunicator(
        _KeepServerSend(AuthMiddlewareStack(Record.as_asgi())), "/api/sync"
    )
    connected, _ = await communicator.connect()
    assert connected and await communicator.receive_from() == "frame"
    await communicator.disconnect()
    assert seen["server"] is not None and seen["server"] is not seen["consumer"]
