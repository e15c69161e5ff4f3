"""Read sets and write sets: the overlap test the sync engine relies on (pure)."""

from __future__ import annotations

from reactive.readset import Bound, DocRead, DocWrite, IndexRangeRead, ReadSet, TableRead

FIELDS = ("channel_id", "creation_time", "id")


def write(channel, ct, pk, op="insert", old=None):
    return DocWrite("messages", pk, op, old, {"channel_id": channel, "creation_time": ct, "id": pk})


def test_eq_prefix_range():
    rs = ReadSet(
        [IndexRangeRead("messages", "by_channel", FIELDS, Bound((1,), True), Bound((1,), True))]
    )
    assert rs.overlaps(write(1, 10.0, 5))
    assert not rs.overlaps(write(2, 10.0, 5))


def test_range_cut_at_last_row_read():
    # take(2) over channel 1 stopped at (1, 20.0, 7): later rows of channel 1 are outside
    rs = ReadSet(
        [
            IndexRangeRead(
                "messages", "by_channel", FIELDS, Bound((1,), True), Bound((1, 20.0, 7), True)
            )
        ]
    )
    assert rs.overlaps(write(1, 15.0, 6))
    assert rs.overlaps(write(1, 20.0, 7))
    assert not rs.overlaps(write(1, 20.0, 8))
    assert not rs.overlaps(write(1, 30.0, 9))


def test_exclusive_bounds_and_nulls_sort_last():
    rs = ReadSet([IndexRangeRead("messages", "by_channel", FIELDS, Bound((1, 10.0), False), None)])
    assert not rs.overlaps(write(1, 10.0, 1))
    assert rs.overlaps(write(1, 10.5, 1))
    assert rs.overlaps(write(None, 0.0, 1))  # NULL is after every value


def test_update_moving_out_of_range_overlaps_through_old_key():
    rs = ReadSet(
        [IndexRangeRead("messages", "by_channel", FIELDS, Bound((1,), True), Bound((1,), True))]
    )
    moved = write(2, 10.0, 5, op="update", old={"channel_id": 1, "creation_time": 10.0, "id": 5})
    assert rs.overlaps(moved)


def test_doc_and_table_reads():
    assert ReadSet([DocRead("messages", 5)]).overlaps(write(9, 1.0, 5))
    assert not ReadSet([DocRead("messages", 6)]).overlaps(write(9, 1.0, 5))
    assert ReadSet([TableRead("messages")]).overlaps(write(9, 1.0, 5))
    assert not ReadSet([TableRead("channels")]).overlaps(write(9, 1.0, 5))


def test_unlocatable_writes_overlap_every_read_of_their_table():
    rs = ReadSet(
        [IndexRangeRead("messages", "by_channel", FIELDS, Bound((1,), True), Bound((1,), True))]
    )
    assert rs.overlaps(DocWrite("messages", None, "update", whole_table=True))
    assert not rs.overlaps(DocWrite("channels", None, "update", whole_table=True))
    partial = DocWrite("messages", 5, "update", None, {"id": 5})  # a column is missing
    assert rs.overlaps(partial)
