"""The commit-timestamp clock: snapshot visibility and the timeline's exact stamps."""

from __future__ import annotations

import time

from reactive import clock


def test_visible_follows_postgres_snapshot_rules() -> None:
    snap = "100:105:101,103"
    assert clock.visible(99, snap)
    assert clock.visible(100, snap) and clock.visible(102, snap) and clock.visible(104, snap)
    assert not clock.visible(101, snap) and not clock.visible(103, snap)
    assert not clock.visible(105, snap) and not clock.visible(200, snap)
    assert clock.visible(104, "105:105:") and not clock.visible(105, "105:105:")


def _record(timeline: clock.Timeline, text: str) -> int:
    with timeline.snapshot() as taken:
        taken.text = text
    return taken.ts


def test_a_stamp_is_the_label_of_the_first_snapshot_that_sees_the_transaction() -> None:
    timeline = clock.Timeline()
    a = _record(timeline, "100:102:100,101")  # sees neither 101 nor 102
    b = _record(timeline, "101:103:101")  # sees 102, not 101
    c = _record(timeline, "103:103:")  # sees both
    assert a < b < c
    assert timeline.stamp(102) == b
    assert timeline.stamp(101) == c
    assert timeline.stamp(99) == a  # seen by every recorded snapshot: the oldest
    later = timeline.stamp(103)  # seen by none yet: a fresh ts past every label
    assert later > c
    assert _record(timeline, "104:104:") > later  # and the next snapshot's label past it


def test_a_snapshot_that_failed_is_not_recorded() -> None:
    timeline = clock.Timeline()
    try:
        with timeline.snapshot():
            raise RuntimeError("the database went away")
    except RuntimeError:
        pass
    assert timeline.stamp(5) > 0 and not timeline._recent


def test_observe_moves_the_clock_only_within_bounds() -> None:
    near = time.time_ns() + 5_000_000_000
    assert clock.observe_ts(near)
    assert clock.next_ts() > near
    far = time.time_ns() + clock.MAX_AHEAD_NS + 10_000_000_000
    assert not clock.observe_ts(far)
    assert clock.next_ts() < far


def test_timestamps_strictly_increase() -> None:
    values = [clock.next_ts() for _ in range(10_000)]
    assert values == sorted(set(values))
