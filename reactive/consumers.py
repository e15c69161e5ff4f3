"""The WebSocket endpoint of Convex's sync protocol, as a Channels consumer. Transport only.

It authenticates the socket from the Django session, decodes each frame into a typed message
(`sync.protocol`), and dispatches: Connect, query-set changes and identity changes (an
Authenticate's token verified by `auth.jwt`, off the event loop) go to the
process's `Listener` through its socket interface, with the `SyncSession` it attached for this
socket (the listener runs subscriptions and says when to send a Transition); mutations run one at
a time, in order, through the executor; actions run concurrently. Server messages are built by
`sync.protocol`. It never touches the ORM itself. Any protocol violation is answered with a
FatalError and a close; nothing a client sends can crash the process. A refused token is answered
with an AuthError and a close, and so is a token that expires while the socket uses it (nothing
runs under it after its `exp` plus the leeway). Browser origins are checked before it runs
(`routing.BrowserOriginValidator`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any, cast
from urllib.parse import urlsplit

from channels.auth import get_user
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from .auth import Identity, identity_from_user
from .auth import jwt as auth_jwt
from .conf import reactive_settings
from .errors import RequestError
from .functions.context import run_off_loop
from .functions.executor import execute
from .functions.outcome import Outcome
from .functions.registry import Kind
from .sync import protocol
from .sync.listener import Listener
from .sync.protocol import Authenticate, CallMessage, Connect, Event, ModifyQuerySet, ProtocolError
from .sync.session import SyncSession
from .sync.sweeper import Sweeper

logger = logging.getLogger("reactive.sync")

#: The scope key under which `routing.sync_application` passes the server's own ``send`` on.
SERVER_SEND = "reactive.server_send"


class SyncConsumer(AsyncWebsocketConsumer):
    """``/api/sync`` and ``/api/<client version>/sync``."""

    # Nothing reaches a socket through the Channels layer (the layer carries only the listeners'
    # wake-ups between processes, sync/wakeups.py): an alias no CHANNEL_LAYERS names gives the
    # consumer no layer, so a socket opens no channel of its own (no Redis round trips per socket)
    # and keeps working while the layer is down.
    channel_layer_alias = "reactive.sync.sockets"

    async def connect(self) -> None:
        await self.accept()
        # Frames go straight to the server's send when `routing.sync_application` passed it
        # (past the session middleware's wrapper, which acts on HTTP responses only), else to
        # the consumer's own; either way past the consumer's two send wrappers.
        self._send_frame: Any = self.scope.get(SERVER_SEND) or self.base_send
        self.base_identity = _scope_identity(self.scope)
        self.listener = Listener.current()
        self.sync = reactive_settings.SYNC
        self._send_event = asyncio.Event()
        self.session: SyncSession = self.listener.attach(
            self.base_identity, wakeup=self._send_event.set
        )
        self._detached = False  # once the listener forgot the socket, nothing more is sent
        self._last_send = time.monotonic()
        # each mutation with the caller it was received from: one sent before an Authenticate
        # runs under the identity of before, even if it runs after the switch. The queue and
        # the task that runs them are made at the first Mutation: most sockets only subscribe.
        self._mutations: asyncio.Queue[tuple[CallMessage, _Caller]] | None = None
        self._verifying = False  # a token is being verified (frames wait for it)
        self._expiry: asyncio.TimerHandle | None = None
        self._tasks = {asyncio.create_task(self._guarded(self._writer()))}
        self._closing = False
        # the tasks in a send, and when one began with none pending or last completed (`sweep`)
        self._sending: set[asyncio.Task[Any]] = set()
        self._send_progress, self._ping_due = self._last_send, False
        self._sweeper = Sweeper.current(self.sync.ping_seconds, self.sync.slow_socket_seconds)
        self._sweeper.add(self)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "session", None) is None:
            return
        self._detach()
        self._cancel_expiry()
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
        if isinstance(message, (ModifyQuerySet, CallMessage)) and self.session.expired(time.time()):
            # The token expired before the timer closed the socket: nothing more runs under it.
            await self._expire()
            return
        if isinstance(message, Connect):
            self.listener.connect(self.session, message)
        elif isinstance(message, ModifyQuerySet):
            self.listener.modify(self.session, message)
        elif isinstance(message, CallMessage) and message.kind == "Mutation":
            if self._mutations is None:
                self._mutations = asyncio.Queue()
                self._tasks.add(
                    asyncio.create_task(self._guarded(self._mutation_worker(self._mutations)))
                )
            if self._mutations.qsize() >= self.sync.max_pending_mutations:
                raise ProtocolError("too many pending mutations on this connection")
            self._mutations.put_nowait((message, self._caller()))
        elif isinstance(message, CallMessage):
            caller = self._caller()
            task = asyncio.create_task(self._guarded(self._action(message, caller)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(message, Authenticate):
            await self._authenticate(message)
        elif isinstance(message, Event):
            pass  # client telemetry: accepted and ignored

    async def _authenticate(self, message: Authenticate) -> None:
        """Change the socket's identity. A token is verified off the event loop (its issuer's
        keys may be fetched); meanwhile later frames wait, so every message after the
        Authenticate runs under its outcome. A refused token gets an AuthError and a close."""
        self.session.check_authenticate(message)  # a wrong baseVersion is a protocol error
        if message.token_type == "None":  # logout: back to the Django session's identity
            if self.base_identity is not None:
                # as the session is now, not as it was at the upgrade: the user may have
                # logged out (or been deactivated) since, which is when pages clear the token
                self._verifying = True
                try:
                    self.base_identity = await _current_session_identity(self.scope)
                finally:
                    self._verifying = False
                if self._closing or self._detached:
                    return
            self._cancel_expiry()
            self.listener.authenticate(self.session, message, self.base_identity)
            return
        if message.token_type == "Admin":
            await self._refuse(ADMIN_REFUSED, message.base_version)
            return
        self._verifying = True
        try:
            identity, expires_at = await asyncio.to_thread(
                auth_jwt.verify_expiring, message.value or ""
            )
        except RequestError as exc:  # the reason is logged by the verifier, never sent
            await self._refuse(str(exc), message.base_version)
            return
        finally:
            self._verifying = False
        if self._closing or self._detached:
            return  # closed while verifying: the listener has forgotten the socket
        self._cancel_expiry()
        self.listener.authenticate(self.session, message, identity, expires_at)
        delay = max(0.0, expires_at - time.time())
        self._expiry = asyncio.get_running_loop().call_later(
            delay, self._on_expiry, self.session.recv_identity
        )

    async def _refuse(self, error: str, base_version: int) -> None:
        """An Authenticate refused: AuthError (the identity version stays where it was), then
        close. The official clients fetch a new token, or go on without one, on a new socket."""
        await self._send(protocol.auth_error(error, base_version))
        await self._close()

    def _on_expiry(self, identity_version: int) -> None:
        self._expiry = None
        if self.session.recv_identity == identity_version and not self._verifying:
            task = asyncio.create_task(self._guarded(self._expire()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _expire(self) -> None:
        """The identity's token expired while in use: what Convex's backend does then, an
        AuthError with ``authUpdateAttempted: false`` and a close. The JavaScript client fetches
        a new token and reconnects with it; the Python client reconnects with the token it
        was given (refused from then on) until ``set_auth`` gives it another."""
        await self._send(
            protocol.auth_error(TOKEN_EXPIRED, self.session.recv_identity, attempted=False)
        )
        await self._close()

    def _cancel_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def _caller(self) -> _Caller:
        return _Caller(self.session.identity, self.session.expires_at)

    # -- mutations and actions ----------------------------------------------------------
    async def _mutation_worker(self, queue: asyncio.Queue[tuple[CallMessage, _Caller]]) -> None:
        session = self.session
        while True:
            call, caller = await queue.get()
            if caller.expired():
                # received in time, its turn came after the token expired: it does not run
                # (the client sends it again after reconnecting with a new token)
                await self._expire()
                return
            outcome: Outcome = await run_off_loop(
                execute,
                call.udf_path,
                call.args,
                identity=caller.identity,
                from_client=True,
                kind=Kind.MUTATION,
                options=self.listener.mutation_options(session, call.request_id, caller.identity),
            )
            ts = self.listener.mutation_ts(session, outcome)
            await self._send(protocol.mutation_response(call.request_id, outcome, ts))
            self.listener.mutation_answered(session, ts)

    async def _action(self, call: CallMessage, caller: _Caller) -> None:
        outcome: Outcome = await run_off_loop(
            execute,
            call.udf_path,
            call.args,
            identity=caller.identity,
            from_client=True,
            kind=Kind.ACTION,
        )
        await self._send(protocol.action_response(call.request_id, outcome))

    # -- outgoing -----------------------------------------------------------------------
    async def _writer(self) -> None:
        """Sends Transitions when the listener has one for us, and Pings when the sweeper
        finds the socket idle."""
        while True:
            await self._send_event.wait()
            self._send_event.clear()
            if self._ping_due:
                self._ping_due = False
                await self._send(protocol.ping())
            if self.session.expired(time.time()):
                if not self._verifying:  # a new token on its way replaces it, or is refused
                    await self._expire()
                continue
            message = self.listener.transition(self.session)
            if message is not None:
                await self._send(message)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._closing or self._detached:
            return
        text = protocol.dumps(message)
        task = asyncio.current_task()
        assert task is not None
        if not self._sending:
            self._send_progress = time.monotonic()
        self._sending.add(task)
        try:
            # no timer per message: the sweeper cancels a send blocked too long (`sweep`)
            await self._send_frame({"type": "websocket.send", "text": text})
        except Exception as exc:
            # The peer went away before the server read its close (daphne raises autobahn's
            # Disconnected): the socket is gone, not broken; nothing more is sent on it.
            logger.info("reactive sync: a send failed (%s); dropping the socket", exc)
            self._closing = True
            self._detach()
            return
        finally:
            self._sending.discard(task)
        self._last_send = self._send_progress = time.monotonic()

    def sweep(self, now: float) -> None:
        """The sweeper's call: close a socket whose sends are stuck (the client stopped reading
        and the server's buffer is full); ask for a Ping on one idle for ping_seconds."""
        if self._closing or self._detached:
            self._sweeper.discard(self)
        elif self._sending and now - self._send_progress >= self.sync.slow_socket_seconds:
            logger.warning("reactive sync: closing a socket too slow to take its updates")
            for task in self._sending:
                task.cancel()  # the tasks blocked in a send: the socket is closing
            self._tasks.add(asyncio.create_task(self._close()))
        elif not self._sending and now - self._last_send >= self.sync.ping_seconds:
            self._ping_due = True
            self._send_event.set()

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
        self._sweeper.discard(self)
        self.listener.detach(self.session)


#: The AuthError for an Authenticate with an admin key.
ADMIN_REFUSED = (
    "Admin keys are not accepted by this server: authenticate with a user token (a JWT from "
    "/api/auth/token or a configured issuer)."
)
#: The AuthError when the socket's token expires (Convex's message).
TOKEN_EXPIRED = "Convex token identity expired"


@dataclass(frozen=True)
class _Caller:
    """Who sent a call, captured when it was received."""

    identity: Identity | None
    expires_at: float | None

    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at


def _scope_identity(scope: Mapping[str, Any]) -> Identity | None:
    if not _session_allowed(scope):
        return None
    return identity_from_user(scope.get("user"), reactive_settings.SESSION_ISSUER)


async def _current_session_identity(scope: Mapping[str, Any]) -> Identity | None:
    """The identity of the upgrade's session cookie as the session store holds it now (a
    fresh read: the scope's copy was loaded at the upgrade)."""
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if session is None or not key:
        return None
    fresh = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    scope_now: dict[str, Any] = dict(scope)
    scope_now["session"] = fresh
    user = await get_user(cast(Any, scope_now))
    return identity_from_user(user, reactive_settings.SESSION_ISSUER)


def _session_allowed(scope: Mapping[str, Any]) -> bool:
    """The session cookie's user only for the site's own pages, as on HTTP (`views`): no
    Origin (not a browser), the handshake's own origin (its Host), or a trusted one. The
    routing lets in any origin on an ALLOWED_HOSTS name (another port, or any subdomain of a
    ``.example.com`` entry: same-site, so a SameSite=Lax cookie goes along); such a page may
    use the socket with a token, never as the visitor."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin:
        return True
    trusted = set(getattr(settings, "CSRF_TRUSTED_ORIGINS", [])) | set(
        reactive_settings.CORS_TRUSTED_ORIGINS
    )
    if origin in trusted:
        return True
    host = headers.get(b"host", b"").decode("latin-1").lower()
    try:
        return bool(host) and urlsplit(origin).netloc.lower() == host
    except ValueError:
        return False
