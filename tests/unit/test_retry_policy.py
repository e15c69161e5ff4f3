"""Backoff is bounded, exponential and jittered."""

from __future__ import annotations

from reactive.conf import RetryPolicy


def test_backoff_grows_and_caps():
    p = RetryPolicy(max_attempts=5, initial_backoff_ms=2, max_backoff_ms=50)
    assert p.backoff_seconds(1, 1.0) == 0.002
    assert p.backoff_seconds(3, 1.0) == 0.008
    assert p.backoff_seconds(20, 1.0) == 0.05
    assert p.backoff_seconds(3, 0.5) == 0.004
    assert p.backoff_seconds(3, 0.0) == 0.0
