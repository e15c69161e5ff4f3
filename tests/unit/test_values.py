"""Convex value encoding: $integer, $bytes, $float, key rules, clean export."""

from __future__ import annotations

import math

import pytest

from reactive.values import Int64, ValueEncodingError, decode, encode


def test_int64_round_trip_matches_convex_bytes():
    assert encode(Int64(5)) == {"$integer": "BQAAAAAAAAA="}
    assert encode(Int64(-1)) == {"$integer": "//////////8="}
    assert decode({"$integer": "BQAAAAAAAAA="}) == 5
    assert isinstance(decode({"$integer": "BQAAAAAAAAA="}), Int64)


def test_plain_numbers_are_float64():
    assert decode(3) == 3.0 and isinstance(decode(3), float)
    assert encode(3) == 3 and isinstance(encode(3), float)  # "3.0" on the wire
    assert encode(1.5) == 1.5


def test_unsafe_plain_int_is_refused_not_rounded():
    with pytest.raises(ValueEncodingError, match="Int64"):
        encode(2**53 + 1)


def test_bytes_and_special_floats():
    assert encode(b"\x00\x01") == {"$bytes": "AAE="}
    assert decode({"$bytes": "AAE="}) == b"\x00\x01"
    nan = encode(float("nan"))
    assert set(nan) == {"$float"} and math.isnan(decode(nan))
    assert decode(encode(float("-inf"))) == float("-inf")
    neg_zero = decode(encode(-0.0))
    assert neg_zero == 0 and math.copysign(1, neg_zero) < 0


def test_float_special_holding_normal_number_is_rejected():
    normal = encode(float("inf"))["$float"]
    assert normal
    import base64
    import struct

    with pytest.raises(ValueEncodingError):
        decode({"$float": base64.b64encode(struct.pack("<d", 1.5)).decode()})


def test_clean_export_format():
    assert encode({"i": Int64(7), "b": b"hi"}, clean=True) == {"i": "7", "b": "aGk="}


@pytest.mark.parametrize(
    "bad", [{"$x": 1}, {"$integer": "short"}, {"$integer": 5}, {"$bytes": "***"}]
)
def test_bad_special_values(bad):
    with pytest.raises(ValueEncodingError):
        decode(bad)


@pytest.mark.parametrize("key", ["$dollar", "café", "x" * 1025])
def test_invalid_object_keys_rejected(key):
    with pytest.raises(ValueEncodingError):
        encode({key: 1})


def test_nested_paths_in_errors():
    with pytest.raises(ValueEncodingError, match=r"value\.a\[1\]"):
        encode({"a": [1, object()]})


def test_int64_range():
    with pytest.raises(ValueError):
        Int64(2**63)
    with pytest.raises(TypeError):
        Int64(True)


def test_an_identity_encodes_as_convex_user_identity():
    from reactive.auth import Identity

    identity = Identity(
        subject="u1",
        issuer="https://id.example",
        email="a@example.com",
        claims={
            "given_name": "Ann",
            "email_verified": True,
            "picture": "p",
            "updated_at": "2024",
            "address": {"formatted": "1 Road"},
            "jti": "x",
            "exp": 5,
            "org": "acme",
            "nickname": None,
        },
    )
    assert encode({"me": identity}) == {
        "me": {
            "tokenIdentifier": "https://id.example|u1",
            "subject": "u1",
            "issuer": "https://id.example",
            "email": "a@example.com",
            "givenName": "Ann",
            "emailVerified": True,
            "pictureUrl": "p",
            "updatedAt": "2024",
            "address": "1 Road",
            "org": "acme",
        }
    }
