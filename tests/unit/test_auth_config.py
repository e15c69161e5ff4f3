"""REACTIVE["AUTH"]: bad issuer entries and signing keys are system check errors (and such an
issuer is refused, not trusted); the server's own tokens verify under either kind of key."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth import get_user_model
from django.test import override_settings

from reactive.auth import identity_from_user, issuers, jwt, tokens
from reactive.checks import check_setup
from reactive.errors import RequestError

GOOD = {"issuer": "https://a.test", "audience": "app", "jwks_url": "https://a.test/jwks"}


def _auth(**auth: Any) -> Any:
    return override_settings(REACTIVE={"AUTH": auth})


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({**GOOD, "audience": ""}, "['audience']"),
        ({k: v for k, v in GOOD.items() if k != "audience"}, "['audience']"),
        ({**GOOD, "issuer": "django"}, "SESSION_ISSUER"),
        ({**GOOD, "algorithms": ["none"]}, "['algorithms']"),
        ({**GOOD, "algorithms": ["HS256"]}, "['algorithms']"),  # HS* with public keys
        ({"issuer": "x", "audience": "a", "secret": "s", "algorithms": ["RS256"]}, "algorithms"),
        ({**GOOD, "keys": ["pem"]}, "exactly one of"),
        ({"issuer": "x", "audience": "a"}, "exactly one of"),
        ({**GOOD, "jwks_url": "file:///etc/passwd"}, "http(s) URL"),
        ({**GOOD, "colour": "blue"}, "unknown key 'colour'"),
        ({**GOOD, "jwks_cooldown_seconds": -1}, "jwks_cooldown_seconds"),
        ("https://a.test", "expected a dict"),
    ],
)
def test_bad_issuer_entries_are_problems_and_left_out(entry: Any, fragment: str) -> None:
    with _auth(issuers=[entry]):
        found = issuers.problems()
        assert any(fragment in p for p in found), found
        assert issuers.configured_issuers() == {}


def test_good_entries_have_defaults() -> None:
    with _auth(issuers=[GOOD, {"issuer": "h", "audience": ["a", "b"], "secret": "s" * 32}]):
        assert issuers.problems() == []
        found = issuers.configured_issuers()
        assert found["https://a.test"].algorithms == ("RS256",)
        assert found["h"].algorithms == ("HS256",)
        assert found["h"].audience == ("a", "b")
    with _auth(issuers=[GOOD, GOOD]):
        assert any("twice" in p for p in issuers.problems())
    with _auth(issuers="nope"):
        assert issuers.problems() == ["REACTIVE['AUTH']['issuers']: expected a list, got str"]


@pytest.mark.django_db
def test_the_system_check_reports_them() -> None:
    with _auth(issuers=[{**GOOD, "algorithms": ["none"]}], signing_key="not a key"):
        errors = [m for m in check_setup() if m.id == "reactive.E030"]
        assert len(errors) == 2, errors
    with _auth(leeway_seconds=-1):
        assert any("leeway_seconds" in m.msg for m in check_setup() if m.id == "reactive.E004")


def _pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (None, "HS256"),
        (_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "RS256"),
        (_pem(ec.generate_private_key(ec.SECP256R1())), "ES256"),
    ],
)
def test_server_tokens_verify_as_the_session_identity(key: str | None, alg: str) -> None:
    user = get_user_model().objects.create(username="tok-unit", email="t@x.test")
    with _auth(signing_key=key):
        assert tokens.signing_problems() == []
        token, expires_at = tokens.issue_token(user)
        assert tokens.server_key()[0] == alg
        identity = jwt.verify(token)
        assert identity.as_dict() == identity_from_user(user, "django").as_dict()  # type: ignore[union-attr]
    # another key (or SECRET_KEY) no longer accepts it
    with _auth(signing_key=None), override_settings(SECRET_KEY="another-secret-key-" * 3):
        with pytest.raises(RequestError) as refused:
            jwt.verify(token)
        assert refused.value.status == 401


@pytest.mark.django_db
def test_a_bad_signing_key_refuses_server_tokens_instead_of_failing() -> None:
    user = get_user_model().objects.create(username="tok-bad-key")
    token, _ = tokens.issue_token(user)
    with _auth(signing_key="not a key"), pytest.raises(RequestError) as refused:
        jwt.verify(token)
    assert refused.value.status == 401


def test_bearer_header_parsing() -> None:
    assert jwt.bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert jwt.bearer_token("bearer  abc") == "abc"
    for header in ("", "Bearer", "Bearer a b", "Convex admin-key", "abc"):
        with pytest.raises(RequestError):
            jwt.bearer_token(header)
