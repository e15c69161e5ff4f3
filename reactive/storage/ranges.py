"""HTTP Range requests (RFC 9110 §14) over a file of known size. Pure functions.

One range is served (206); several are answered with the whole file (200), which the RFC
allows; a range that starts past the end is unsatisfiable (416). Anything malformed, or a
unit other than bytes, is ignored: the whole file (200).
"""

from __future__ import annotations

import re

_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")

#: No range header, or one to ignore: serve the whole file.
WHOLE = None
#: No byte of the requested range is in the file (HTTP 416).
UNSATISFIABLE = (-1, 0)


def parse(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, length)`` of the one range ``header`` asks for, None for the whole file,
    `UNSATISFIABLE` if it asks only for bytes past the end."""
    if not header:
        return WHOLE
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in specs:
        return WHOLE
    match = _SPEC.match(specs)
    if match is None or not (match[1] or match[2]):
        return WHOLE
    first, last = match[1], match[2]
    if not first:  # a suffix: the last N bytes
        count = _number(last)
        if count == 0 or size == 0:
            return UNSATISFIABLE  # no byte to send: an empty file has no last byte
        start = max(0, size - count)
        return start, size - start
    start = _number(first)
    if last and _number(last) < start:
        return WHOLE  # invalid: ignored, as the RFC says
    if start >= size:
        return UNSATISFIABLE
    end = min(_number(last), size - 1) if last else size - 1
    return start, end - start + 1


def _number(digits: str) -> int:
    """A byte position: one of more than 18 digits is past the end of any file (and Python
    refuses to read integers of over 4,300 digits at all)."""
    return int(digits) if len(digits) <= 18 else 10**18
