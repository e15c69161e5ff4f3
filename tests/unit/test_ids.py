"""Document ids: opaque, table-tagged, checksummed."""

from __future__ import annotations

import uuid

import pytest

from reactive import ids


@pytest.mark.parametrize("pk", [1, 0, 255, 2**40, 2**63 - 1, -5, uuid.uuid4(), "slug-1"])
def test_round_trip(pk):
    value = ids.encode_id("messages", pk)
    assert value.isalnum() and value == value.lower()
    assert ids.pk_of("messages", value) == pk


def test_table_is_part_of_the_id():
    value = ids.encode_id("messages", 42)
    assert ids.pk_of("channels", value) is None
    assert ids.encode_id("channels", 42) != value


def test_ids_are_stable():
    assert ids.encode_id("messages", 42) == ids.encode_id("messages", 42)


@pytest.mark.parametrize("bad", ["", "x", "not-an-id", "aaaaaaaaaaaa", 42, None, "ü" * 12])
def test_garbage_is_not_an_id(bad):
    assert ids.decode_id(bad) is None


def test_typo_is_detected_by_checksum():
    value = ids.encode_id("messages", 123456)
    flipped = value[:-3] + ("a" if value[-3] != "a" else "b") + value[-2:]
    assert ids.pk_of("messages", flipped) is None
