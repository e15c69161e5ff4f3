"""Shared by the fuzzing tests (test_fuzz_http, test_fuzz_protocol): junk JSON and Convex
values as hypothesis strategies, hypothesis settings, and a watch on the live server's log.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.reliability.length import LONG, scaled


def fuzz_settings(fast: int, long: int) -> settings:
    """Derandomized (the same examples every run) in the normal run; random and many more
    examples with REACTIVE_LONG=1."""
    return settings(
        max_examples=scaled(fast, long),
        derandomize=not LONG,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# --- values -------------------------------------------------------------------------------------


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def int64(n: int) -> dict[str, str]:
    return {"$integer": b64(struct.pack("<q", n))}


def float64(x: float) -> dict[str, str]:
    return {"$float": b64(struct.pack("<d", x))}


# Integers a float64 cannot hold, up to Python's 4300-digit limit of int <-> str conversion.
huge_ints = st.one_of(
    st.integers(min_value=2**53 - 2, max_value=2**64 + 2),
    st.integers(min_value=-(2**64) - 2, max_value=-(2**53) + 2),
    st.integers(min_value=300, max_value=4200).map(lambda d: 10**d),
    st.integers(min_value=300, max_value=4200).map(lambda d: -(10**d) - 7),
)

weird_text = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "a\udfffb",
        "\ufeff",
        "é",
        "💥",
        "\u202e",
        "$",
        "$integer",
        "x" * 1025,
        "null",
        "true",
        "[]",
        "{}",
        "NaN",
        "\\",
        '"',
        "\n",
        "\r\n",
    ]
)
texts = st.one_of(st.text(max_size=20), weird_text)
keys = st.one_of(
    st.text(max_size=8),
    weird_text,
    st.sampled_from(["path", "args", "format", "type", "_id", "_creationTime"]),
)

garbage_b64 = st.one_of(
    st.text(max_size=16),
    st.binary(max_size=12).map(b64),
    st.binary(min_size=8, max_size=8).map(b64),
    st.sampled_from(
        [
            "",
            "=",
            "====",
            "AAAA",
            "not base64!",
            "AAAAAAAAAAA",
            "AAAAAAAAAAA==",
            "AAAAAAAAAAA=\n",
            " AAAAAAAAAAA=",
            "AAAAAAAA+H8=",
            "AAAAAAAAAIA=",
            "AAAAAAAA8D8=",
            "////////////",
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**31), max_value=2**31),
    huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
specials = st.builds(
    lambda k, v: {k: v},
    st.sampled_from(
        [
            "$integer",
            "$bytes",
            "$float",
            "$set",
            "$map",
            "$",
            "$id",
            "$undefined",
            "$INTEGER",
            "$integer ",
        ]
    ),
    st.one_of(
        garbage_b64,
        scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(keys, scalars, max_size=2),
    ),
)
# Any JSON value, with Convex's special encodings ($integer, $bytes, ...) in all their wrong forms.
junk = st.recursive(
    st.one_of(scalars, specials),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


def nested(depth: int, kind: str = "[") -> str:
    """A JSON value nested `depth` levels deep."""
    if kind == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


depths = st.one_of(
    st.integers(min_value=0, max_value=1200),
    st.sampled_from([990, 1000, 2000, 5000, 20_000, 200_000]),
)


# --- the live server ------------------------------------------------------------------------------

_ERROR_LINE = re.compile(r"^\S+ \S+ (ERROR|CRITICAL)\b.*$", re.MULTILINE)


class ServerWatch:
    """The live server's process and log, from where a test started: nothing a client sends may
    kill the process or make the server log a traceback or an ERROR (an unhandled exception)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.path = Path(server.log_path)
        self.offset = self.path.stat().st_size

    def new_log(self) -> str:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        return data.decode(errors="replace")

    @contextmanager
    def example(self, what: str) -> Iterator[None]:
        """Around one example: check the log after it; if it failed anyway, skip what it logged
        (so the next example is not blamed for it)."""
        try:
            yield
        except BaseException:
            self.new_log()
            raise
        self.check(what)

    def check(self, after: str) -> None:
        code = self.server.process.poll()
        assert code is None, f"the server process exited ({code}) after {after}"
        log = self.new_log()
        bad = _ERROR_LINE.findall(log)
        if "Traceback" in log or bad:
            start = log.find("Traceback")
            excerpt = log[max(0, start - 300) : start + 3000] if start >= 0 else log[-3000:]
            raise AssertionError(f"the server logged an unhandled error after {after}:\n{excerpt}")
