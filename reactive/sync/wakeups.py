"""What wakes the listener: the sources that say a tick may have work, and nothing else.

- this process's own mutations: a receiver of `functions.signals.mutation_committed` (sent in
  the mutation's thread, so it hands the wake-up to the loop with ``call_soon_threadsafe``);
- writes made anywhere else: Postgres ``NOTIFY reactive_changes`` from the capture trigger, on a
  LISTEN connection of our own that reconnects with backoff and wakes once after each
  (re)connect, to catch up on what it missed;
- other processes' mutations, when a Channels layer crosses processes
  (``notify_executor_writes`` off): each commit is announced to the group, and each announcement
  received wakes this process's listener.

Every source calls the ``wake`` it is given (the listener's). Wake-ups are hints: the change log
is the truth and the listener also polls it, so a lost wake-up delays an update, never loses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from channels.layers import get_channel_layer
from django.db import connections

from ..conf import reactive_settings
from ..functions.signals import mutation_committed

logger = logging.getLogger("reactive.sync")

CHANNEL_GROUP = "reactive.listeners"


class Wakeups:
    """The wake-up sources of one listener, started and stopped with it."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, using: str, wake: Callable[[], None]
    ) -> None:
        self.loop = loop
        self.using = using
        self.wake = wake  # called on the loop
        self._tasks: list[asyncio.Task[Any]] = []
        self._sends: set[asyncio.Task[None]] = set()  # announcements in flight
        self._send_failing = False  # the last announcement failed (logged once per outage)

    def start(self) -> None:
        mutation_committed.connect(self._committed)  # weakly: held while this object lives
        self._tasks = [self.loop.create_task(self._notifications(), name="reactive-notify")]
        if not reactive_settings.notify_executor_writes:
            self._tasks.append(self.loop.create_task(self._layer(), name="reactive-layer"))

    async def stop(self) -> None:
        mutation_committed.disconnect(self._committed)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._sends, return_exceptions=True)

    def _committed(self, sender: Any, **kwargs: Any) -> None:
        """A mutation of this process committed (in its thread)."""
        try:
            self.loop.call_soon_threadsafe(self.wake)
        except RuntimeError:  # the loop is closed
            pass

    async def _notifications(self) -> None:
        """LISTEN for the capture trigger's NOTIFY; reconnect with backoff, catch up after."""
        backoff = 0.1
        while True:
            try:
                params = conninfo(self.using)
                aconn = await psycopg.AsyncConnection.connect(autocommit=True, **params)
                async with aconn:
                    await aconn.execute("LISTEN reactive_changes")
                    backoff = 0.1
                    self.wake()  # anything missed while disconnected is in the log
                    async for _ in aconn.notifies():
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("reactive LISTEN connection lost (%s); reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _layer(self) -> None:
        """Wake-ups from other processes through the Channels layer (when it crosses them).

        Each commit of this process is announced to the group; each announcement received wakes
        this listener. A layer that fails (Redis restarted or unreachable) is joined again with
        backoff, and the listener is woken once after each (re)join to catch up on what it missed
        meanwhile; announcements that cannot be sent are dropped (the poll delivers their writes).
        """
        layer = get_channel_layer()
        if layer is None:
            return
        mutation_committed.connect(self._announce)  # weakly: held while this object lives
        backoff = 0.1
        stale: list[str] = []  # channels of earlier joins, left in the group when the layer failed
        try:
            while True:
                channel: str | None = None
                try:
                    channel = await layer.new_channel()
                    await layer.group_add(CHANNEL_GROUP, channel)
                    backoff = 0.1
                    self.wake()  # commits announced while we were not in the group
                    while stale:  # so that group sends stop going to them
                        await self._discard(layer, stale.pop())
                    while True:
                        await layer.receive(channel)
                        self.wake()
                except asyncio.CancelledError:
                    if channel is not None:
                        await asyncio.shield(self._discard(layer, channel))
                    raise
                except Exception as exc:
                    logger.warning("reactive channel layer lost (%s); joining again", exc)
                    if channel is not None:
                        stale.append(channel)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            mutation_committed.disconnect(self._announce)

    def _announce(self, sender: Any, **kwargs: Any) -> None:
        """A mutation of this process committed (in its thread): tell the other processes."""
        try:
            self.loop.call_soon_threadsafe(self._send_announcement)
        except RuntimeError:  # the loop is closed
            pass

    def _send_announcement(self) -> None:
        task = self.loop.create_task(self._group_send())
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _group_send(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            await layer.group_send(CHANNEL_GROUP, {"type": "reactive.wake"})
        except Exception as exc:  # the others' poll delivers the write instead
            if not self._send_failing:  # once per outage, not once per commit
                logger.warning("reactive channel layer: wake-ups not sent (%s)", exc)
            self._send_failing = True
        else:
            self._send_failing = False

    @staticmethod
    async def _discard(layer: Any, channel: str) -> None:
        try:
            await layer.group_discard(CHANNEL_GROUP, channel)
        except Exception:  # the group entry expires on its own (channels_redis group_expiry)
            pass


def conninfo(using: str) -> dict[str, Any]:
    """psycopg connection parameters of a Django database (for our own LISTEN connection)."""
    settings = connections[using].settings_dict
    params: dict[str, Any] = {"dbname": settings["NAME"]}
    for key, name in (
        ("USER", "user"),
        ("PASSWORD", "password"),
        ("HOST", "host"),
        ("PORT", "port"),
    ):
        if settings.get(key):
            params[name] = settings[key]
    for key, value in (settings.get("OPTIONS") or {}).items():
        if isinstance(value, (str, int)) and key not in (
            "isolation_level",
            "pool",
            "server_side_binding",
        ):
            params[key] = value
    return params
