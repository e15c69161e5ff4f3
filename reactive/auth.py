"""Identities: who is calling. `ctx.auth.get_user_identity()` returns one, or None.

An identity has Convex's shape (`subject`, `issuer`, `tokenIdentifier`, and OIDC claims such as
`name` and `email`). For now it comes from the Django session (a logged-in user); JWT verification
plugs in at the same seam (`Identity` from verified claims).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Identity:
    subject: str
    issuer: str
    name: str | None = None
    email: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def token_identifier(self) -> str:
        return f"{self.issuer}|{self.subject}"

    def as_dict(self) -> dict[str, Any]:
        """Convex's UserIdentity as a JSON-ready dict (camelCase keys, as clients expect)."""
        data: dict[str, Any] = dict(self.claims)
        data.update(subject=self.subject, issuer=self.issuer,
                    tokenIdentifier=self.token_identifier)
        if self.name is not None:
            data["name"] = self.name
        if self.email is not None:
            data["email"] = self.email
        return data

    def cache_key(self) -> str:
        return self.token_identifier


def identity_from_user(user: Any, issuer: str) -> Identity | None:
    """The identity of a Django user, or None for an anonymous one."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    username = user.get_username() if hasattr(user, "get_username") else str(user.pk)
    return Identity(
        subject=str(user.pk),
        issuer=issuer,
        name=full_name or username,
        email=getattr(user, "email", None) or None,
        claims={"preferredUsername": username},
    )


class Auth:
    """``ctx.auth``."""

    def __init__(self, identity: Identity | None) -> None:
        self._identity = identity

    def get_user_identity(self) -> Identity | None:
        return self._identity

    @property
    def identity(self) -> Identity | None:
        return self._identity
