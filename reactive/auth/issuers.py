"""The issuers JWTs are accepted from, read from ``REACTIVE["AUTH"]["issuers"]`` and checked.

Each entry names its `issuer` (the token's `iss`), its `audience` (the token's `aud`, Convex's
`applicationID`), where its keys come from (exactly one of `jwks_url`, `jwks_file`, `keys`: a list
of PEM public keys or JWK dicts, `secret`: a shared HMAC secret) and optionally `algorithms` and
`jwks_cooldown_seconds` (a JWKS URL is fetched again for an unknown `kid` at most this often).
The algorithm allow-list never holds `none`, and holds HS* only with a `secret` (and only HS*
then), so a public key can never be used as an HMAC secret. A bad entry is a system check error
(`problems`) and is left out of `configured_issuers`, so its tokens are refused, not trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..conf import reactive_settings

ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
SYMMETRIC = frozenset({"HS256", "HS384", "HS512"})
KEY_SOURCES = ("jwks_url", "jwks_file", "keys", "secret")
KNOWN = frozenset({"issuer", "audience", "algorithms", "jwks_cooldown_seconds", *KEY_SOURCES})


@dataclass(frozen=True)
class IssuerConfig:
    issuer: str
    audience: tuple[str, ...]
    algorithms: tuple[str, ...]
    source: str  # one of KEY_SOURCES
    value: Any  # the URL, the path, the list of keys, or the secret
    jwks_cooldown_seconds: float = 30.0  # jwks_url: no fetch for an unknown kid sooner than this


def _parse(index: int, entry: Any, server_issuer: str) -> tuple[IssuerConfig | None, list[str]]:
    where = f"REACTIVE['AUTH']['issuers'][{index}]"
    if not isinstance(entry, dict):
        return None, [f"{where}: expected a dict, got {type(entry).__name__}"]
    problems = [f"{where}: unknown key {k!r}" for k in entry if k not in KNOWN]
    issuer = entry.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        problems.append(f"{where}['issuer']: expected a non-empty string")
    elif issuer == server_issuer:
        problems.append(
            f"{where}['issuer']: {issuer!r} is SESSION_ISSUER, the server's own tokens' issuer"
        )
    audience = entry.get("audience")
    if isinstance(audience, str):
        audience = [audience]
    if (
        not isinstance(audience, list)
        or not audience
        or not all(isinstance(a, str) and a for a in audience)
    ):
        problems.append(f"{where}['audience']: expected a non-empty string (or list of them)")
    sources = [s for s in KEY_SOURCES if s in entry]
    if len(sources) != 1:
        problems.append(f"{where}: expected exactly one of {', '.join(KEY_SOURCES)}")
        return None, problems
    source, value = sources[0], entry[sources[0]]
    if source in ("jwks_url", "jwks_file", "secret") and (not isinstance(value, str) or not value):
        problems.append(f"{where}[{source!r}]: expected a non-empty string")
    if source == "jwks_url" and isinstance(value, str) and not value.startswith("http"):
        problems.append(f"{where}['jwks_url']: expected an http(s) URL")
    if source == "keys" and (
        not isinstance(value, list)
        or not value
        or not all(isinstance(k, (str, dict)) for k in value)
    ):
        problems.append(f"{where}['keys']: expected a list of PEM public keys or JWK dicts")
    allowed = SYMMETRIC if source == "secret" else ASYMMETRIC
    algorithms = entry.get("algorithms", ["HS256"] if source == "secret" else ["RS256"])
    if (
        not isinstance(algorithms, list)
        or not algorithms
        or not all(isinstance(a, str) and a in allowed for a in algorithms)
    ):
        problems.append(
            f"{where}['algorithms']: expected a list drawn from {sorted(allowed)} "
            f"(HS* only with a 'secret', never 'none'), got {algorithms!r}"
        )
    cooldown = entry.get("jwks_cooldown_seconds", 30.0)
    if isinstance(cooldown, bool) or not isinstance(cooldown, (int, float)) or cooldown < 0:
        problems.append(f"{where}['jwks_cooldown_seconds']: expected a number ≥ 0")
    if problems or not isinstance(issuer, str) or not isinstance(audience, list):
        return None, problems
    config = IssuerConfig(
        issuer, tuple(audience), tuple(algorithms), source, value, float(cooldown)
    )
    return config, []


def _read(raw: Any, server_issuer: str) -> tuple[dict[str, IssuerConfig], list[str]]:
    if not isinstance(raw, list):
        return {}, [f"REACTIVE['AUTH']['issuers']: expected a list, got {type(raw).__name__}"]
    issuers: dict[str, IssuerConfig] = {}
    problems: list[str] = []
    for index, entry in enumerate(raw):
        config, found = _parse(index, entry, server_issuer)
        problems += found
        if config is not None:
            if config.issuer in issuers:
                problems.append(f"REACTIVE['AUTH']['issuers']: {config.issuer!r} appears twice")
            issuers[config.issuer] = config
    return issuers, problems


def problems() -> list[str]:
    """One line per invalid issuer entry, for the system check."""
    settings = reactive_settings.lenient
    return _read(settings.AUTH.issuers, settings.SESSION_ISSUER)[1]


_cache: tuple[object, dict[str, IssuerConfig]] | None = None


def configured_issuers() -> dict[str, IssuerConfig]:
    """The valid issuer entries, by issuer (read again when the settings are reloaded)."""
    global _cache
    settings = reactive_settings.lenient
    if _cache is None or _cache[0] is not settings:
        _cache = (settings, _read(settings.AUTH.issuers, settings.SESSION_ISSUER)[0])
    return _cache[1]
