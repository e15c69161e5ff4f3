"""One timer per event loop for the sockets' timed duties, instead of one per message.

A socket has two: a Ping after ``SYNC.ping_seconds`` without sending anything, and a close once
a send has been blocked for ``SYNC.slow_socket_seconds`` (a client that stopped reading). Both
were an ``asyncio.timeout`` around each wait and each send: a timer scheduled and cancelled per
delivery, 10 to 15 µs of the event loop's time each on this project's benchmark machine, more
than the rest of a delivery's bookkeeping. The duties are coarse, so one task per loop looks at
every registered socket a few times per the shorter period (`interval`) and calls its
``sweep(now)``; a socket's send costs two counter updates instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Protocol

logger = logging.getLogger("reactive.sync")


class Swept(Protocol):
    def sweep(self, now: float) -> None:
        """Act on what is due at ``now`` (``time.monotonic()``); must not block."""


def interval(ping_seconds: float, slow_socket_seconds: float) -> float:
    """How often to look: four times per the shorter period, at most once a second."""
    return max(0.01, min(1.0, ping_seconds / 4, slow_socket_seconds / 4))


class Sweeper:
    """The sockets of one event loop. Its task runs while any socket is registered."""

    _instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Sweeper] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, every: float) -> None:
        self.loop = loop
        self.every = every
        self.sockets: weakref.WeakSet[Swept] = weakref.WeakSet()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def current(cls, ping_seconds: float, slow_socket_seconds: float) -> Sweeper:
        """The running loop's sweeper, looking often enough for these periods."""
        every = interval(ping_seconds, slow_socket_seconds)
        loop = asyncio.get_running_loop()
        sweeper = cls._instances.get(loop)
        if sweeper is None:
            sweeper = cls._instances[loop] = Sweeper(loop, every)
        sweeper.every = min(sweeper.every, every)
        return sweeper

    def add(self, socket: Swept) -> None:
        self.sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run(), name="reactive-sweeper")

    def discard(self, socket: Swept) -> None:
        self.sockets.discard(socket)

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(self.every)
            now = time.monotonic()
            for socket in list(self.sockets):
                try:
                    socket.sweep(now)
                except Exception:  # one socket's failure is not every socket's
                    logger.exception("reactive sync: a socket's timed duty failed")
