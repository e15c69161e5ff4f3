"""Which relations one SQL statement may read: names only, from Postgres' lexical rules.

`read_names(sql)` returns every identifier that stands where a relation can be named: not a
qualifier (``"t"`` in ``"t"."id"``, ``public`` in ``public.t``), not a function (``count(``),
and not the target of a write (``INSERT INTO t``, ``UPDATE t``, ``DELETE FROM t``, ``MERGE INTO
t``, ``TRUNCATE t``), whose rows the change-capture triggers already see. Unquoted names are
folded to lower case as Postgres folds them; quoted ones are kept exact. String literals,
dollar-quoted bodies and comments (nested ones too) are skipped, so a table name inside a string
is not a read. The answer over-approximates (a column or alias spelled like a table counts): the
caller matches it against the registered tables, and an extra name only costs a re-run.

Pure module: no Django, no database. Parsing is cached per SQL string.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Statements longer than this are parsed on every call instead of being cached (bulk INSERTs
#: with inlined values would otherwise fill the cache with one-off strings).
CACHED_LENGTH = 8192

_IDENT_START = r"A-Za-z_\u0080-\U0010ffff"
# Every token that matters, and every token whose body must be skipped as a whole; what no
# alternative matches (white space, operators) is passed over by the scan.
_TOKEN = re.compile(
    rf"""
      (?P<word>[{_IDENT_START}][{_IDENT_START}0-9$]*)
    | (?P<punct>[.(),;])
    | (?P<ident>"(?:[^"]|"")*"?)
    | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[Ee][+-]?[0-9]+)?|\.[0-9]+(?:[Ee][+-]?[0-9]+)?)
    | (?P<string>'(?:[^']|'')*'?)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<dollar>\$(?P<tag>(?:[{_IDENT_START}][{_IDENT_START}0-9]*)?)\$)
    | (?P<param>\$[0-9]+)
    """,
    re.VERBOSE | re.DOTALL,
)
# Checked first at a word's start: E'text' strings take backslash escapes; U&"name" identifiers
# take backslash escapes too (four hex digits: \0041 is "A").
_PREFIXED = re.compile(
    r"""(?P<estring>[Ee]'(?:[^'\\]|\\.|'')*'?) | (?P<uident>[Uu]&"(?:[^"]|"")*"?)""", re.VERBOSE
)
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UESCAPE = re.compile(r"\\(?:\\|\+([0-9A-Fa-f]{6})|([0-9A-Fa-f]{4}))")

# A name token: (folded name, is it a keyword-capable bare word, its upper-case spelling)
_Name = tuple[str, bool, str]
_Token = _Name | str  # a name, or one punctuation character


def read_names(sql: str) -> frozenset[str]:
    """The relation names that ``sql`` may read (see the module docstring)."""
    if len(sql) > CACHED_LENGTH:
        return _read_names(sql)
    return _cached(sql)


@lru_cache(maxsize=4096)
def _cached(sql: str) -> frozenset[str]:
    return _read_names(sql)


def _read_names(sql: str) -> frozenset[str]:
    tokens = _tokens(sql)
    targets = _write_targets(tokens)
    names = set()
    for i, tok in enumerate(tokens):
        if isinstance(tok, str) or i in targets:
            continue
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if after == "." or after == "(":  # a qualifier or a function call
            continue
        names.add(tok[0])
    return frozenset(names)


def _tokens(sql: str) -> list[_Token]:
    """Names and the punctuation that gives them their role; everything else dropped."""
    out: list[_Token] = []
    pos: int | None = 0
    while pos is not None:
        pos = _scan(sql, pos, out)
    return out


def _scan(sql: str, pos: int, out: list[_Token]) -> int | None:
    """Tokenize from ``pos``; where a comment or dollar quote needs a jump, return the position
    to resume from (the scan cannot skip ahead itself); None at the end."""
    for m in _TOKEN.finditer(sql, pos):
        kind = m.lastgroup
        if kind == "word":
            if m.end() - m.start() == 1 and sql[m.end() : m.end() + 1] in ("'", "&"):
                prefixed = _PREFIXED.match(sql, m.start())
                if prefixed is not None:
                    if prefixed.lastgroup == "uident":
                        body = prefixed.group()[3:].removesuffix('"').replace('""', '"')
                        out.append((_UESCAPE.sub(_unescape, body), False, ""))
                    return prefixed.end()
            word = m.group()
            out.append((word.translate(_LOWER), True, word.upper()))
        elif kind == "punct":
            out.append(m.group())
        elif kind == "ident":
            out.append((m.group()[1:].removesuffix('"').replace('""', '"'), False, ""))
        elif kind == "block_comment":
            return _comment_end(sql, m.end())
        elif kind == "dollar":
            close = sql.find(m.group(), m.end())
            return len(sql) if close < 0 else close + len(m.group())
    return None


def _unescape(m: re.Match[str]) -> str:
    code = m.group(1) or m.group(2)
    return chr(int(code, 16)) if code else "\\"


def _comment_end(sql: str, pos: int) -> int:
    """Where a block comment opened just before ``pos`` ends (Postgres nests them)."""
    depth = 1
    while depth:
        opening, closing = sql.find("/*", pos), sql.find("*/", pos)
        if closing < 0:
            return len(sql)
        if 0 <= opening < closing:
            depth, pos = depth + 1, opening + 2
        else:
            depth, pos = depth - 1, closing + 2
    return pos


def _keyword(tok: _Token | None) -> str:
    return tok[2] if isinstance(tok, tuple) and tok[1] else ""


def _write_targets(tokens: list[_Token]) -> set[int]:
    """Token positions of the relations written by INSERT/UPDATE/DELETE/MERGE/TRUNCATE."""
    targets: set[int] = set()
    n = len(tokens)
    for i, tok in enumerate(tokens):
        word = _keyword(tok)
        if word in ("INSERT", "MERGE", "DELETE"):
            want = "FROM" if word == "DELETE" else "INTO"
            if _keyword(tokens[i + 1] if i + 1 < n else None) != want:
                continue
            start = i + 2
        elif word in ("UPDATE", "TRUNCATE"):
            start = i + 1
            if word == "TRUNCATE" and _keyword(tokens[start] if start < n else None) == "TABLE":
                start += 1
        else:
            continue
        while True:  # TRUNCATE names a list; the others one relation
            if _keyword(tokens[start] if start < n else None) == "ONLY":
                start += 1
            last = start
            while last + 2 < n and tokens[last + 1] == "." and isinstance(tokens[last + 2], tuple):
                last += 2  # schema.table: the relation is the last part
            if last < n and isinstance(tokens[last], tuple):
                targets.add(last)
            if word != "TRUNCATE" or last + 1 >= n or tokens[last + 1] != ",":
                break
            start = last + 2
    return targets
