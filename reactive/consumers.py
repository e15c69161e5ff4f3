"""The WebSocket endpoint of Convex's sync protocol, as a Channels consumer. Transport only.

It authenticates the socket from the Django session, decodes each frame into a typed message
(`sync.protocol`), and dispatches: Connect, query-set changes and identity changes go to the
process's `Listener` through its socket interface, with the `SyncSession` it attached for this
socket (the listener runs subscriptions and says when to send a Transition); mutations run one at
a time, in order, through the executor; actions run concurrently. Server messages are built by
`sync.protocol`. It never touches the ORM itself. Any protocol violation is answered with a
FatalError and a close; nothing a client sends can crash the process. Browser origins are checked
before it runs (`routing.BrowserOriginValidator`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from .auth import Identity, identity_from_user
from .conf import reactive_settings
from .functions.context import run_off_loop
from .functions.executor import execute
from .functions.outcome import Outcome
from .functions.registry import Kind
from .sync import protocol
from .sync.listener import Listener
from .sync.protocol import Authenticate, CallMessage, Connect, Event, ModifyQuerySet, ProtocolError
from .sync.session import SyncSession

logger = logging.getLogger("reactive.sync")


class SyncConsumer(AsyncWebsocketConsumer):
    """``/api/sync`` and ``/api/<client version>/sync``."""

    async def connect(self) -> None:
        await self.accept()
        self.base_identity = _scope_identity(self.scope)
        self.listener = Listener.current()
        self.sync = reactive_settings.SYNC
        self._send_event = asyncio.Event()
        self.session: SyncSession = self.listener.attach(
            self.base_identity, wakeup=self._send_event.set
        )
        self._detached = False  # once the listener forgot the socket, nothing more is sent
        self._last_send = time.monotonic()
        self._mutations: asyncio.Queue[CallMessage] = asyncio.Queue()
        self._tasks = {
            asyncio.create_task(self._guarded(self._writer())),
            asyncio.create_task(self._guarded(self._mutation_worker())),
        }
        self._closing = False

    async def disconnect(self, code: int) -> None:
        if getattr(self, "session", None) is None:
            return
        self._detach()
        for task in self._tasks:
            task.cancel()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels closes stale database connections before every message, a hop to the
        shared sync thread each time. Nothing here uses the event loop's connection (database
        work runs in worker threads that manage their own), so frames skip that hop."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _guarded(self, work: Any) -> None:
        """Run a background task; an unexpected error closes this socket, never the process."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("reactive sync: a socket task failed; closing the socket")
            await self._fatal("InternalServerError")

    # -- incoming -----------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self._closing:
            return
        try:
            if text_data is None:
                raise ProtocolError("binary frames are not part of the protocol")
            if len(text_data) > self.sync.max_frame_bytes:
                raise ProtocolError(
                    f"frame of {len(text_data)} bytes is over the limit of "
                    f"{self.sync.max_frame_bytes}"
                )
            await self._dispatch(protocol.parse(text_data))
        except ProtocolError as exc:
            await self._fatal(str(exc))
        except Exception:
            logger.exception("reactive sync: error handling a frame")
            await self._fatal("InternalServerError")

    async def _dispatch(self, message: Any) -> None:
        if isinstance(message, Connect):
            self.listener.connect(self.session, message)
        elif isinstance(message, ModifyQuerySet):
            self.listener.modify(self.session, message)
        elif isinstance(message, CallMessage) and message.kind == "Mutation":
            if self._mutations.qsize() >= self.sync.max_pending_mutations:
                raise ProtocolError("too many pending mutations on this connection")
            self._mutations.put_nowait(message)
        elif isinstance(message, CallMessage):
            task = asyncio.create_task(self._guarded(self._action(message)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(message, Authenticate):
            await self._authenticate(message)
        elif isinstance(message, Event):
            pass  # client telemetry: accepted and ignored

    async def _authenticate(self, message: Authenticate) -> None:
        if message.token_type != "None":
            # Token verification (JWT/OIDC) plugs in here; until it does, a token is refused
            # the way Convex refuses an invalid one, and the client carries on without it.
            await self._send(
                {
                    **protocol.auth_error(
                        "Token authentication is not configured on this server; the connection "
                        "uses the Django session's identity.",
                        message.base_version,
                    )
                }
            )
            await self._close()
            return
        self.listener.authenticate(self.session, message, self.base_identity)

    # -- mutations and actions ----------------------------------------------------------
    async def _mutation_worker(self) -> None:
        session = self.session
        while True:
            call = await self._mutations.get()
            outcome: Outcome = await run_off_loop(
                execute,
                call.udf_path,
                call.args,
                identity=session.identity,
                from_client=True,
                kind=Kind.MUTATION,
                options=self.listener.mutation_options(session, call.request_id),
            )
            ts = self.listener.mutation_ts(session, outcome)
            await self._send(protocol.mutation_response(call.request_id, outcome, ts))
            self.listener.mutation_answered(session, ts)

    async def _action(self, call: CallMessage) -> None:
        outcome: Outcome = await run_off_loop(
            execute,
            call.udf_path,
            call.args,
            identity=self.session.identity,
            from_client=True,
            kind=Kind.ACTION,
        )
        await self._send(protocol.action_response(call.request_id, outcome))

    # -- outgoing -----------------------------------------------------------------------
    async def _writer(self) -> None:
        """Sends Transitions when the listener has one for us, and Pings when idle."""
        while True:
            idle = time.monotonic() - self._last_send
            try:
                async with asyncio.timeout(max(0.0, self.sync.ping_seconds - idle)):
                    await self._send_event.wait()
            except TimeoutError:
                await self._send(protocol.ping())
                continue
            self._send_event.clear()
            message = self.listener.transition(self.session)
            if message is not None:
                await self._send(message)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._closing or self._detached:
            return
        try:
            # asyncio.timeout, not wait_for: no task per message
            async with asyncio.timeout(self.sync.slow_socket_seconds):
                await self.send(text_data=protocol.dumps(message))
        except TimeoutError:
            logger.warning("reactive sync: closing a socket too slow to take its updates")
            await self._close()
            return
        self._last_send = time.monotonic()

    async def _fatal(self, error: str) -> None:
        await self._send(protocol.fatal_error(error))
        await self._close()

    async def _close(self) -> None:
        if not self._closing:
            self._closing = True
            self._detach()
            await self.close(code=1000)

    def _detach(self) -> None:
        self._detached = True
        self.listener.detach(self.session)


def _scope_identity(scope: Mapping[str, Any]) -> Identity | None:
    return identity_from_user(scope.get("user"), reactive_settings.SESSION_ISSUER)
