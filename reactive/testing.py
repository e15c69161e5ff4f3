"""Test utilities: call any function as any identity, through the same executor as clients.

    from reactive.testing import ReactiveClient

    client = ReactiveClient()
    channel = client.mutation(api.chat.create_channel, {"name": "general"})
    alice = client.with_identity(subject="alice", name="Alice")
    alice.mutation(api.chat.send, {"channel": channel, "body": "hi"})
    assert [m["body"] for m in client.query(api.chat.list, {"channel": channel})] == ["hi"]

`call()` returns the full `Outcome` (value, error, log lines, read and write sets); the kind
helpers return the value or raise the function's error. Pass ``as_client=True`` to be treated as
an HTTP/WebSocket client (internal functions are then not found).

Test modules and ``conftest.py`` files may import this module before Django is set up, so the
scheduler's runner and the models are imported where they are used.
"""

from __future__ import annotations

from typing import Any

from . import clock
from .auth import Identity, identity_from_user
from .conf import reactive_settings
from .functions.executor import execute
from .functions.outcome import Outcome
from .functions.references import FunctionReference
from .functions.registry import Kind
from .scheduler.crons import discover

Ref = FunctionReference | str


class ReactiveClient:
    def __init__(
        self, identity: Identity | None = None, *, as_client: bool = False, using: str = "default"
    ) -> None:
        self.identity = identity
        self.as_client = as_client
        self.using = using

    def with_identity(self, subject: str, issuer: str = "test", **claims: Any) -> ReactiveClient:
        name, email = claims.pop("name", None), claims.pop("email", None)
        identity = Identity(subject=subject, issuer=issuer, name=name, email=email, claims=claims)
        return ReactiveClient(identity, as_client=self.as_client, using=self.using)

    def as_user(self, user: Any) -> ReactiveClient:
        identity = identity_from_user(user, reactive_settings.SESSION_ISSUER)
        return ReactiveClient(identity, as_client=self.as_client, using=self.using)

    def call(
        self, ref: Ref, args: dict[str, Any] | None = None, *, kind: Kind | str | None = None
    ) -> Outcome:
        return execute(
            ref,
            args,
            identity=self.identity,
            from_client=self.as_client,
            kind=kind,
            using=self.using,
        )

    def query(self, ref: Ref, args: dict[str, Any] | None = None) -> Any:
        return self.call(ref, args, kind=Kind.QUERY).unwrap()

    def mutation(self, ref: Ref, args: dict[str, Any] | None = None) -> Any:
        return self.call(ref, args, kind=Kind.MUTATION).unwrap()

    def action(self, ref: Ref, args: dict[str, Any] | None = None) -> Any:
        return self.call(ref, args, kind=Kind.ACTION).unwrap()


def call(ref: Ref, args: dict[str, Any] | None = None, *, identity: Identity | None = None) -> Any:
    """Run any function as ``identity`` and return its value (raising its error)."""
    return execute(ref, args, identity=identity).unwrap()


# -- the scheduler, driven synchronously -------------------------------------------------------


def run_scheduled(*, using: str = "default", limit: int = 1000) -> list[str]:
    """Run every scheduled function that is due by reactive's clock, in this process and in
    due order, including those that running others makes due; returns what happened to each
    (e.g. ``"success"``, ``"failed: …"``). The same code path the worker runs, minus the queue.

    Example:
        >>> client.mutation(api.orders.place, {...})   # schedules run_after(0, ...)
        >>> run_scheduled()
        ['success']
    """
    from .models import ScheduledFunction  # deferred: models need the app registry
    from .scheduler.runner import run  # deferred: it imports the models

    results: list[str] = []
    while len(results) < limit:
        due = (
            ScheduledFunction.objects.using(using)
            .filter(state=ScheduledFunction.State.PENDING, scheduled_time__lte=clock.now_ms())
            .order_by("scheduled_time", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if due is None:
            return results
        results.append(run(due, using=using))
    raise AssertionError(
        f"run_scheduled: still running after {limit} scheduled functions "
        "(a function that keeps scheduling itself with no delay?)"
    )


def advance_time(ms: float, *, using: str = "default") -> list[str]:
    """Move reactive's clock ``ms`` forward, then run the crons and scheduled functions that
    are now due (see `run_scheduled`). Call `reset_clock` when the test ends (the
    ``reactive_clock`` pytest fixture in the docs does)."""
    clock.advance(ms)
    run_crons(using=using)
    return run_scheduled(using=using)


def run_crons(*, using: str = "default") -> list[tuple[str, str]]:
    """Register the declared crons (as a starting worker does) and schedule the due ones."""
    from .scheduler import cron_table  # deferred: it imports the models

    declared = discover()
    cron_table.register(declared, using=using)
    return cron_table.run_due({c.name: c for c in declared}, using=using)


def reset_clock() -> None:
    """Undo `advance_time`."""
    clock.reset()
