"""``with_search_index(name, lambda q: q.search(field, text).eq(field, value)...)``: the search
filter expression, checked and compiled. Builds; `text_sql` turns it into SQL.

As in Convex: exactly one ``search`` on the index's search field, then at most 8 ``eq`` on its
filter fields. The text is split into terms the way Convex's tokenizer does (runs of letters and
digits; everything else separates), lowercased; terms longer than 32 characters are dropped, at
most 16 terms are allowed. A document matches if it contains ANY of the terms (Convex unions the
terms; more matched terms rank higher), the LAST term also matching as a prefix (typeahead). A
text with no terms (empty, whitespace or punctuation only) matches nothing.

User text never reaches ``to_tsquery``'s syntax: each term is letters and digits only, written
as a quoted lexeme (``'hello' | 'wor':*``), so quotes, ``&|!():*``, backslashes and NUL bytes
are separators, never operators.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from ..db.documents import column_value
from ..errors import QueryError
from .text_index import SearchIndexSpec

if TYPE_CHECKING:
    from ..db.tables import Table

MAX_TERMS = 16
MAX_TERM_LENGTH = 32
MAX_FILTERS = 8
#: The most documents one read of a search returns (Convex scans at most 1024 results).
MAX_RESULTS = 1024


@functools.cache
def _term_pattern() -> re.Pattern[str]:
    """Runs of letters and digits, with the combining marks that belong to them (Devanagari's
    vowel signs, Arabic's harakat, a decomposed accent): without them "नमस्ते" would be cut in
    three and never match the word Postgres indexed whole. Built once, on the first search."""
    # every script's marks lie below U+20000 (above: only variation selectors, not letters)
    marks = [chr(c) for c in range(0x20000) if unicodedata.category(chr(c))[0] == "M"]
    spans: list[str] = []
    for char in marks:
        if spans and ord(spans[-1][-1]) + 1 == ord(char):
            spans[-1] = spans[-1][0] + char
        else:
            spans.append(char)
    ranges = "".join(
        re.escape(s[0]) + ("-" + re.escape(s[-1]) if len(s) > 1 else "") for s in spans
    )
    return re.compile(rf"(?:[^\W_]|[{ranges}])+")


def terms_of(text: str, where: str) -> list[str]:
    """The search terms of ``text``, lowercased; QueryError past `MAX_TERMS`."""
    terms: list[str] = []
    text = unicodedata.normalize("NFC", text)  # "cafe" + U+0301 is "café", as stored NFC text
    for match in _term_pattern().finditer(text):
        term = match.group().lower()
        if len(term) > MAX_TERM_LENGTH:
            continue  # as Convex: a term that long is dropped, not an error
        terms.append(term)
        if len(terms) > MAX_TERMS:
            raise QueryError(
                f"{where}: the search text has more than {MAX_TERMS} terms; "
                f"at most {MAX_TERMS} are allowed"
            )
    return terms


def tsquery_text(terms: list[str]) -> str:
    """``to_tsquery`` input matching any term, the last one as a prefix too."""
    quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms]
    if quoted:
        quoted[-1] += ":*"
    return " | ".join(quoted)


@dataclass(frozen=True)
class TextSearch:
    """A compiled search filter expression."""

    spec: SearchIndexSpec
    terms: tuple[str, ...]
    tsquery: str
    #: The ``eq`` filters: (column, Python value of the column).
    filters: tuple[tuple[str, Any], ...]
    q: Q


class SearchFilterBuilder:
    """The ``q`` in ``with_search_index(name, lambda q: ...)``."""

    def __init__(self, table: Table, spec: SearchIndexSpec) -> None:
        self._table, self._spec = table, spec
        self.where = f"with_search_index({spec.name!r}) on table {table.name!r}"
        self.text: str | None = None
        self.eqs: list[tuple[str, Any]] = []

    def search(self, field: str, text: str) -> SearchFilterBuilder:
        if self.text is not None:
            raise QueryError(f"{self.where}: search() may be called only once")
        if field != self._spec.search_field:
            raise QueryError(
                f"{self.where}: search({field!r}, ...) names a field the index does not "
                f"search; its search field is {self._spec.search_field!r}"
            )
        if not isinstance(text, str):
            raise QueryError(
                f"{self.where}: the search text must be a string, not {type(text).__name__}"
            )
        self.text = text
        return self

    def eq(self, field: str, value: Any) -> SearchFilterBuilder:
        if self.text is None:
            raise QueryError(f"{self.where}: search(...) must come before eq({field!r}, ...)")
        if field not in self._spec.filter_fields:
            declared = list(self._spec.filter_fields)
            raise QueryError(
                f"{self.where}: eq({field!r}, ...) names a field that is not a filter field "
                f"of the index (filter fields: {declared})"
            )
        if len(self.eqs) >= MAX_FILTERS:
            raise QueryError(
                f"{self.where}: more than {MAX_FILTERS} eq() filters; at most "
                f"{MAX_FILTERS} are allowed"
            )
        if isinstance(value, str) and "\x00" in value:
            raise QueryError(f"{self.where}: eq({field!r}, ...) value contains a NUL character")
        self.eqs.append((field, value))
        return self


def compile_search(
    table: Table, name: str, search_fn: Callable[[SearchFilterBuilder], Any]
) -> TextSearch:
    """The search filter expression ``search_fn`` builds on ``table``'s search index ``name``."""
    spec = table.search_indexes.get(name)
    if spec is None:
        known = ", ".join(sorted(table.search_indexes)) or "none"
        raise QueryError(
            f"table {table.name!r} has no search index {name!r} (search indexes: {known})"
        )
    if not callable(search_fn):
        raise QueryError(f"with_search_index({name!r}) needs a function: lambda q: q.search(...)")
    builder = SearchFilterBuilder(table, spec)
    result = search_fn(builder)
    if result is not builder:
        raise QueryError(f"{builder.where}: the search filter function must return q")
    if builder.text is None:
        raise QueryError(f"{builder.where}: the search filter needs q.search(field, text)")
    terms = terms_of(builder.text, builder.where)
    filters: list[tuple[str, Any]] = []
    q = Q()
    for field, value in builder.eqs:
        column = table.column_for(field)
        val = column_value(table, field, value, where=f"{builder.where}, eq({field!r})")
        q &= Q(**{f"{column}__isnull": True}) if val is None else Q(**{column: val})
        filters.append((column, val))
    return TextSearch(spec, tuple(terms), tsquery_text(terms), tuple(filters), q)
