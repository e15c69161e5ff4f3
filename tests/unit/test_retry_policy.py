"""Backoff is bounded, exponential and jittered."""

from __future__ import annotations

import pytest
from django.test import override_settings

from reactive.conf import RetryPolicy, reactive_settings
from reactive.errors import ConfigurationError


def test_backoff_grows_and_caps():
    p = RetryPolicy(max_attempts=5, initial_backoff_ms=2, max_backoff_ms=50)
    assert p.backoff_seconds(1, 1.0) == 0.002
    assert p.backoff_seconds(3, 1.0) == 0.008
    assert p.backoff_seconds(20, 1.0) == 0.05
    assert p.backoff_seconds(3, 0.5) == 0.004
    assert p.backoff_seconds(3, 0.0) == 0.0


@pytest.mark.parametrize(
    "key, value",
    [
        ("queued_seconds", "5"),
        ("queued_seconds", -1.0),
        ("max_attempts", 0),
        ("lock_timeout_ms", None),
    ],
)
def test_bad_retry_setting_is_one_clear_line(key, value):
    with override_settings(REACTIVE={"RETRY": {key: value}}):
        with pytest.raises(ConfigurationError) as exc:
            reactive_settings.RETRY  # noqa: B018
    message = str(exc.value)
    assert message.startswith(f"REACTIVE['RETRY'][{key!r}]: expected a "), message
    assert f"got {value!r}" in message and "\n" not in message
