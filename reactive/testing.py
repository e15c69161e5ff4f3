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
"""

from __future__ import annotations

from typing import Any

from .auth import Identity, identity_from_user
from .conf import reactive_settings
from .functions.executor import execute
from .functions.outcome import Outcome
from .functions.references import FunctionReference
from .functions.registry import Kind

Ref = FunctionReference | str


class ReactiveClient:
    def __init__(self, identity: Identity | None = None, *, as_client: bool = False,
                 using: str = "default") -> None:
        self.identity = identity
        self.as_client = as_client
        self.using = using

    def with_identity(self, subject: str, issuer: str = "test", **claims: Any
                      ) -> ReactiveClient:
        name, email = claims.pop("name", None), claims.pop("email", None)
        identity = Identity(subject=subject, issuer=issuer, name=name, email=email, claims=claims)
        return ReactiveClient(identity, as_client=self.as_client, using=self.using)

    def as_user(self, user: Any) -> ReactiveClient:
        identity = identity_from_user(user, reactive_settings.SESSION_ISSUER)
        return ReactiveClient(identity, as_client=self.as_client, using=self.using)

    def call(self, ref: Ref, args: dict[str, Any] | None = None, *, kind: Kind | str | None = None
             ) -> Outcome:
        return execute(ref, args, identity=self.identity, from_client=self.as_client, kind=kind,
                       using=self.using)

    def query(self, ref: Ref, args: dict[str, Any] | None = None) -> Any:
        return self.call(ref, args, kind=Kind.QUERY).unwrap()

    def mutation(self, ref: Ref, args: dict[str, Any] | None = None) -> Any:
        return self.call(ref, args, kind=Kind.MUTATION).unwrap()

    def action(self, ref: Ref, args: dict[str, Any] | None = None) -> Any:
        return self.call(ref, args, kind=Kind.ACTION).unwrap()


def call(ref: Ref, args: dict[str, Any] | None = None, *, identity: Identity | None = None
         ) -> Any:
    """Run any function as ``identity`` and return its value (raising its error)."""
    return execute(ref, args, identity=identity).unwrap()
