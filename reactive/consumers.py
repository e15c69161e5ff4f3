"""The WebSocket endpoint of Convex's sync protocol, as a Channels consumer. Transport only.

It authenticates the socket from the Django session, decodes each frame into a typed message
(`sync.protocol`), and dispatches: query-set changes and identity changes go to the socket's
`SyncSession` and the process's `Listener` (which runs subscriptions and says when to send a
Transition); mutations run one at a time, in order, through the executor; actions run
concurrently. It never touches the ORM itself. Any protocol violation is answered with a
FatalError and a close; nothing a client sends can crash the process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from . import clock
from .auth import Identity, identity_from_user
from .conf import reactive_settings
from .functions.context import run_off_loop
from .functions.executor import execute
from .functions.outcome import CallOptions, Outcome, error_data, error_message
from .functions.registry import Kind
from .sync import protocol
from .sync.listener import Listener
from .sync.protocol import Authenticate, CallMessage, Connect, Event, ModifyQuerySet, ProtocolError
from .sync.session import SessionState, SyncSession

logger = logging.getLogger("reactive.sync")

#: How far ahead of this server's clock a reconnecting client's maxObservedTimestamp is still
#: honoured (by shifting that socket's timestamps): another server's clock could be this far off.
MAX_SHIFT_NS = 24 * 3600 * 1_000_000_000


def origin_allowed(scope: Mapping[str, Any]) -> bool:
    """Browsers send Origin: it must be one of ALLOWED_HOSTS (no cross-site WebSocket
    hijacking with the visitor's cookie). Non-browser clients send none and are let in."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin")
    if not origin:
        return True
    domain, _port = split_domain_port(urlsplit(origin.decode("latin1")).netloc)
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


class SyncConsumer(AsyncWebsocketConsumer):
    """``/api/sync`` and ``/api/<client version>/sync``."""

    async def connect(self) -> None:
        if not origin_allowed(self.scope):
            await self.close()  # before accept(): the handshake is refused (403)
            return
        await self.accept()
        self.base_identity = _scope_identity(self.scope)
        self.session = SyncSession(identity=self.base_identity)
        self.listener = Listener.current()
        self.listener.attach(self.session)
        self.sync = reactive_settings.SYNC
        self._send_event = asyncio.Event()
        self.session.wakeup = self._send_event.set
        self._last_send = time.monotonic()
        self._mutations: asyncio.Queue[CallMessage] = asyncio.Queue()
        self._tasks = {
            asyncio.create_task(self._guarded(self._writer())),
            asyncio.create_task(self._guarded(self._mutation_worker())),
        }
        self._closing = False

    async def disconnect(self, code: int) -> None:
        session = getattr(self, "session", None)
        if session is None:
            return
        self.listener.detach(session)
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
        session = self.session
        if isinstance(message, Connect):
            session.session_id = message.session_id
            session.reconnected = message.connection_count > 0
            observed = message.max_observed_ts
            if observed is not None:
                self._observe(observed)
        elif isinstance(message, ModifyQuerySet):
            adds, removed = session.modify_query_set(message)
            manager = self.listener.manager
            for entry in removed:
                manager.release(session, entry)
            room = self.sync.max_queries_per_socket - (len(session.queries) - len(adds))
            for i, add in enumerate(adds):
                entry = session.queries[add.query_id]
                if i >= room:
                    manager.hold_static(
                        session,
                        entry,
                        {
                            "type": "QueryFailed",
                            "logLines": [],
                            "journal": None,
                            "errorMessage": f"Too many queries on one connection (limit "
                            f"{self.sync.max_queries_per_socket})",
                        },
                    )
                else:
                    manager.hold(session, entry)
            self.listener.wake()
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
        self.session.authenticate(message, self.base_identity)
        self.listener.manager.rehold_all(self.session)
        self.listener.wake()

    # -- mutations and actions ----------------------------------------------------------
    async def _mutation_worker(self) -> None:
        while True:
            call = await self._mutations.get()
            key = (self.session.session_id, call.request_id) if self.session.session_id else None
            options = CallOptions(
                want_ts=True,
                idempotency_key=key,
                check_stored=self.session.reconnected,
                before_commit=self._committing,
            )
            outcome: Outcome = await run_off_loop(
                execute,
                call.udf_path,
                call.args,
                identity=self.session.identity,
                from_client=True,
                kind=Kind.MUTATION,
                options=options,
            )
            response = _response("MutationResponse", call.request_id, outcome)
            if outcome.ok and outcome.ts is not None:
                ts = self.session.label(outcome.ts)
            else:
                ts = max(self.session.label(self.listener.ts), self.session.sent_ts)
            if outcome.ok:
                response["ts"] = protocol.encode_ts(ts)
            await self._send(response)
            self.session.committing = None
            # A Transition follows every mutation, failed ones too: the Python (Rust) client
            # completes a mutation that failed with a ConvexError only on the next Transition.
            self.session.owe_transition(ts)
            self.listener.wake()

    def _observe(self, observed: int) -> None:
        """Connect's maxObservedTimestamp: no Transition of this socket goes below it."""
        if clock.observe_ts(observed):  # within a minute of the clock: the clock moves past it
            self.session.keep_above(observed, 0, shift=False)
        elif observed <= time.time_ns() + MAX_SHIFT_NS:
            # Another server's clock is this far ahead: shift this socket's timestamps alone.
            self.session.keep_above(observed, clock.next_ts(), shift=True)
        else:
            # Days ahead of any plausible clock (a made-up value): shifting by it would carry
            # this socket's timestamps towards 2^63; it is not honoured.
            logger.warning(
                "reactive sync: ignoring a Connect maxObservedTimestamp %.0f s ahead "
                "of this server's clock",
                (observed - time.time_ns()) / 1e9,
            )

    def _committing(self, xid: int | None) -> None:
        self.session.committing = xid  # from the executor's thread; read by the listener's

    async def _action(self, call: CallMessage) -> None:
        outcome: Outcome = await run_off_loop(
            execute,
            call.udf_path,
            call.args,
            identity=self.session.identity,
            from_client=True,
            kind=Kind.ACTION,
        )
        await self._send(_response("ActionResponse", call.request_id, outcome))

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
            message = self.session.transition()
            if message is not None:
                await self._send(message)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._closing or self.session.state is SessionState.CLOSED:
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
            self.listener.detach(self.session)
            await self.close(code=1000)


def _scope_identity(scope: Mapping[str, Any]) -> Identity | None:
    return identity_from_user(scope.get("user"), reactive_settings.SESSION_ISSUER)


def _response(kind: str, request_id: int, outcome: Outcome) -> dict[str, Any]:
    if outcome.ok:
        return {
            "type": kind,
            "requestId": request_id,
            "success": True,
            "result": outcome.encoded,
            "logLines": outcome.log_lines,
        }
    assert outcome.error is not None
    body: dict[str, Any] = {
        "type": kind,
        "requestId": request_id,
        "success": False,
        "result": error_message(outcome.error),
        "logLines": outcome.log_lines,
    }
    body.update(error_data(outcome.error))
    return body
