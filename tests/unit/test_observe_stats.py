"""The per-process call figures (reactive.observe.stats): summed per function and minute,
bounded, and given back intact by a failed flush."""

from __future__ import annotations

import pytest

from reactive.errors import ConflictError
from reactive.functions.outcome import Outcome
from reactive.functions.registry import Kind
from reactive.observe import stats
from reactive.readset import ReadSet, TableRead, WriteSet


@pytest.fixture(autouse=True)
def _fresh() -> None:
    stats.reset()


def _outcome(path: str, **kwargs: object) -> Outcome:
    return Outcome(**{"path": path, "kind": Kind.MUTATION, "attempts": 1, **kwargs})  # type: ignore[arg-type]


def test_calls_are_summed_per_function_and_minute() -> None:
    reads = ReadSet([TableRead("t"), TableRead("u")])
    stats.record(_outcome("a:f", reads=reads, writes=WriteSet()), 3_000)
    stats.record(_outcome("a:f", reads=reads), 1_000)
    stats.record(Outcome(path="a:nothing"), 5)  # unresolved: not counted
    stats.record(_outcome("a:f", replayed=True), 5)  # answered from a stored response
    conflict = ConflictError("a:f: write conflict")
    stats.record(_outcome("a:f", error=conflict, attempts=4), 9_000)
    failed = ValueError("boom")  # retried, then failed otherwise: not "committed after retrying"
    stats.record(_outcome("a:f", error=failed, attempts=2), 1_000)
    buckets, retried = stats.take()
    [(key, figures)] = buckets.items()
    assert key[0] == "a:f"
    assert figures == [4, 2, 4, 1, 14_000, 9_000, 4, 0]
    assert [(r.path, r.attempts, r.error) for r in retried] == [
        ("a:f", 4, "a:f: write conflict"),
        ("a:f", 2, "boom"),
    ]
    assert stats.take() == ({}, [])


def test_new_counters_stop_at_the_cap_and_put_back_adds_up(monkeypatch) -> None:
    monkeypatch.setattr(stats, "MAX_BUCKETS", 1)
    stats.record(_outcome("a:f"), 10)
    stats.record(_outcome("a:g"), 10)  # a second counter: over the cap, dropped
    buckets, retried = stats.take()
    assert [k[0] for k in buckets] == ["a:f"]
    stats.record(_outcome("a:f"), 30)
    stats.put_back(buckets, retried)  # a flush that failed
    [(_, figures)] = stats.take()[0].items()
    assert (figures[stats.CALLS], figures[stats.TOTAL_NS], figures[stats.MAX_NS]) == (2, 40, 30)


def test_failed_flushes_keep_the_cap_and_the_newest_retried_calls(monkeypatch) -> None:
    """The database down for a long time: every flush fails and gives its figures back, while
    calls go on; the counters stay under the cap, and the ring keeps the newest calls."""
    monkeypatch.setattr(stats, "MAX_BUCKETS", 2)
    monkeypatch.setattr(stats, "_retried", stats.deque(maxlen=3))
    for n in range(5):
        taken = stats.take()  # a flush starts
        stats.record(_outcome(f"a:f{n}", attempts=2), 10)  # a call during the failing flush
        stats.put_back(*taken)  # the flush failed
    buckets, retried = stats.take()
    assert len(buckets) <= 2
    assert [r.path for r in retried] == ["a:f2", "a:f3", "a:f4"]  # the newest, in order
