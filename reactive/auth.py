"""Identities: who is calling. `ctx.auth.get_user_identity()` returns one, or None.

An identity has Convex's shape (`subject`, `issuer`, `tokenIdentifier`, and OIDC claims such as
`name` and `email`). Returned from a function, it travels as Convex's `UserIdentity` object:
camelCase keys, present fields only (`Identity.as_dict`). For now it comes from the Django
session (a logged-in user); JWT verification plugs in at the same seam (`Identity` from verified
claims).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Standard OIDC claims → the field names of Convex's UserIdentity.
_OIDC_NAMES = {
    "given_name": "givenName",
    "family_name": "familyName",
    "nickname": "nickname",
    "preferred_username": "preferredUsername",
    "profile": "profileUrl",
    "picture": "pictureUrl",
    "website": "websiteUrl",
    "email_verified": "emailVerified",
    "birthdate": "birthday",
    "zoneinfo": "timezone",
    "locale": "language",
    "phone_number": "phoneNumber",
    "phone_number_verified": "phoneNumberVerified",
    "updated_at": "updatedAt",
}
#: JWT housekeeping claims Convex leaves out of the identity (they change on every refresh).
_DROPPED = frozenset({"sub", "iss", "exp", "jti", "nbf", "fva"})


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
        """Convex's UserIdentity as a dict: ``tokenIdentifier``, ``subject``, ``issuer``, then
        the claims that are present, standard OIDC ones under Convex's names (``given_name`` is
        ``givenName``, ``picture`` is ``pictureUrl``, ...), others as they are."""
        data: dict[str, Any] = {
            "tokenIdentifier": self.token_identifier,
            "subject": self.subject,
            "issuer": self.issuer,
        }
        if self.name is not None:
            data["name"] = self.name
        if self.email is not None:
            data["email"] = self.email
        for key, value in self.claims.items():
            if key == "address" and isinstance(value, dict):
                value = value.get("formatted")  # Convex keeps the formatted address only
            if key in _DROPPED or value is None:
                continue
            data.setdefault(_OIDC_NAMES.get(key, key), value)
        return data

    def __convex_value__(self) -> dict[str, Any]:
        """What `values.encode` sends when a function returns the identity itself."""
        return self.as_dict()

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
