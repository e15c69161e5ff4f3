"""Identities: who is calling. `ctx.auth.get_user_identity()` returns one, or None.

An identity has Convex's shape (`subject`, `issuer`, `tokenIdentifier`, and OIDC claims such as
`name` and `email`). Returned from a function, it travels as Convex's `UserIdentity` object:
camelCase keys, present fields only (`Identity.as_dict`). It comes from the Django session (a
logged-in user, `identity_from_user`) or from a verified JWT's claims (`identity_from_claims`).
"""

from __future__ import annotations

import json
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
#: Claims a verified token carries that are not about the user: `aud` was checked, `iat` changes
#: on every refresh (it would split the query cache, like `exp`).
_NOT_IDENTITY = _DROPPED | {"aud", "iat"}


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
        """What query results are shared by: the whole identity, not just `tokenIdentifier`
        (two tokens of one user may carry different claims, e.g. a name changed in between,
        and a query may return them); `iat`, `exp` and the like are not part of it. Every
        field as a function reads it, raw claims included: `as_dict` folds some apart (an
        address's other parts, a claim under both its OIDC and its Convex name), and two
        tokens that render alike there must not share results computed from either."""
        raw = {
            "subject": self.subject,
            "issuer": self.issuer,
            "name": self.name,
            "email": self.email,
            "claims": self.claims,
        }
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)


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


def identity_from_claims(claims: dict[str, Any]) -> Identity:
    """The identity of a verified token's claims (`sub` and `iss` are required by the verifier):
    `tokenIdentifier` is ``f"{iss}|{sub}"`` as in Convex; other claims are kept, under Convex's
    names when `as_dict` renders them."""
    name, email = claims.get("name"), claims.get("email")
    return Identity(
        subject=str(claims["sub"]),
        issuer=str(claims["iss"]),
        name=name if isinstance(name, str) else None,
        email=email if isinstance(email, str) else None,
        claims={
            k: v for k, v in claims.items() if k not in _NOT_IDENTITY and k not in ("name", "email")
        },
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
