"""Rate limits inside functions: declared in code, spent in the mutation's transaction.

`definitions` (the limits and their validation) < `buckets` (the pure token-bucket and
fixed-window arithmetic) < `limiter` (`RateLimiter`: rows read and written through the calling
function's transaction). See docs/ratelimit.md.
"""

from __future__ import annotations

from .definitions import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    FixedWindow,
    TokenBucket,
    fixed_window,
    token_bucket,
)
from .limiter import RateLimiter, RateLimitStatus

__all__ = [
    "DAY",
    "HOUR",
    "MINUTE",
    "SECOND",
    "FixedWindow",
    "RateLimitStatus",
    "RateLimiter",
    "TokenBucket",
    "fixed_window",
    "token_bucket",
]
