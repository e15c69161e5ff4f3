"""Who is calling: identities (`identity`), JWTs verified against configured issuers (`jwt`,
with their settings in `issuers`), and the server's own short-lived tokens (`tokens`).

Only the identity types are re-exported here (importing them needs no Django setup); the
transports import `reactive.auth.jwt` and `reactive.auth.tokens` themselves.
"""

from __future__ import annotations

from .identity import Auth, Identity, identity_from_claims, identity_from_user

__all__ = ["Auth", "Identity", "identity_from_claims", "identity_from_user"]
