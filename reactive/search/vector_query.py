"""``ctx.vector_search``: the nearest rows of a vector index, as Convex's ``ctx.vectorSearch``.

`vector_search` checks the request (table, index, vector, limit, filter; each mistake a
`QueryError` naming the function and the field), asks Postgres for the nearest rows through
the HNSW index, and returns ``[{"_id", "_score"}]``, best first. It runs on the calling query's
connection, in its transaction (an action's search runs as a query of its own: see
`functions.context.ActionCtx.vector_search`), and records a `readset.VectorRead`, so a
subscription re-runs when a write can change the result.

Scores, higher is better: cosine similarity in [-1, 1] for ``"cosine"`` (as Convex), the inner
product for ``"ip"``, minus the Euclidean distance for ``"l2"``.

Rules: when ``ctx.db`` is wrapped (row-level rules, a custom wrapper) and the wrapper does not
say the caller may read every row of the table (``unrestricted(table)``, as the rules' reader
does), the rows its read rule (``read_filter(table)``, a ``Q``) does not admit are left out
in the SQL, before ranking, so hidden rows never crowd out visible ones; each candidate is then
read through ``ctx.db.get`` (Python rules, the recorded reads), and one it does not return is
dropped; candidates are fetched four times as many at a time until ``limit`` are kept or none
are left. The read is then marked ``any_column`` (the rule's columns may not be in the change
log). A filter on a field the rules hide from the caller is refused (``hidden_fields``).

Postgres' HNSW scan returns at most ``hnsw.ef_search`` rows and filters after it, so a search
that comes back short (a selective filter, rules hiding rows, a small table) is run again
exactly (a scan ordered by distance), and its result is complete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import ProgrammingError, connections

from .. import ids
from ..db.documents import Document, column_value
from ..db.raw_reads import own_statements
from ..db.reader import DatabaseReader
from ..db.tables import Table, tables
from ..errors import DocumentValidationError, InvalidId, QueryError, UnknownTable
from ..readset import ReadSet, VectorRead
from .vector_filter import build_filter
from .vector_index import OPERATORS
from .vector_spec import VectorSpec, vector_number_problem

MAX_LIMIT = 256
#: Candidates fetched at most when rules hide rows (then the search stops short).
MAX_CANDIDATES = 4096
#: ``hnsw.ef_search`` (the candidate list of an HNSW scan): at least 100 (pgvector's default is
#: 40), else four times the rows asked for, at most pgvector's 1000 (bench/vectors.py).
EF_SEARCH = (100, 1000)
EF_FACTOR = 4


@dataclass(frozen=True)
class Request:
    where: str
    table: Table
    spec: VectorSpec
    vector: str  # pgvector's text form
    limit: int
    clauses: tuple[tuple[str, Any], ...]  # (column, Python value)
    #: The read rule's SQL condition and parameters, when a rule restricts the table.
    rule: tuple[str, tuple[Any, ...]] | None = None


def check_request(
    path: str,
    table: str,
    index: str,
    vector: Any,
    limit: Any,
    filter: Callable[[Any], Any] | None,
) -> Request:
    """The request, checked: every mistake names the function and the field."""
    where = f"{path}: ctx.vector_search({table!r}, {index!r})"
    try:
        found = tables.get(table)
    except UnknownTable:
        raise QueryError(f"{where}: no table is registered as {table!r}") from None
    spec = found.vector_indexes.get(index)
    if spec is None:
        names = ", ".join(sorted({s.name for s in found.vector_indexes.values()})) or "none"
        raise QueryError(f"{where}: table {table!r} has no vector index {index!r} (has: {names})")
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)  # a JavaScript number, as Convex's clients send every number
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(
            f"{where}: `limit` must be an integer from 1 to {MAX_LIMIT}, not {limit!r}"
        )
    clauses = []
    for field, value in build_filter(where, spec.filter_fields, filter):
        try:
            converted = column_value(found, field, value, where=f"filter on `{field}`")
        except (DocumentValidationError, InvalidId) as exc:
            raise QueryError(f"{where}: filter on `{field}`: {exc}") from None
        clauses.append((found.column_for(field), converted))
    text = _vector_text(where, index, spec.dimensions, vector, spec.distance)
    return Request(where, found, spec, text, limit, tuple(clauses))


def _vector_text(where: str, index: str, dimensions: int, vector: Any, distance: str) -> str:
    if not isinstance(vector, (list, tuple)):
        raise QueryError(
            f"{where}: `vector` must be a list of numbers, not {type(vector).__name__}"
        )
    if len(vector) != dimensions:
        raise QueryError(
            f"{where}: `vector` has {len(vector)} numbers; index {index!r} holds "
            f"{dimensions}-dimensional vectors"
        )
    for i, x in enumerate(vector):
        problem = vector_number_problem(x)
        if problem is not None:
            raise QueryError(f"{where}: `vector`[{i}] is {problem}")
    if distance == "cosine" and not any(vector):
        raise QueryError(f"{where}: `vector` is all zeros; a cosine search needs a direction")
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def vector_search(
    db: Any,
    reads: ReadSet | None,
    path: str,
    table: str,
    index: str,
    *,
    vector: Sequence[float],
    limit: int = 10,
    filter: Callable[[Any], Any] | None = None,
) -> list[dict[str, Any]]:
    """``[{"_id": id, "_score": score}]`` of the ``limit`` rows nearest ``vector``, best first,
    among those ``filter`` and ``db`` (the caller's ``ctx.db``, rules and all) let through."""
    request = check_request(path, table, index, vector, limit, filter)
    using = str(getattr(db, "using", "default"))
    _refuse_hidden(db, request)
    everything = _reads_everything(db, request.table.name)
    rule = True if everything else _read_filter(db, request.table.name)
    if reads is not None:
        spec = request.spec
        any_column = rule is not True  # the rule's columns may not be in the change log
        reads.add(
            VectorRead(
                request.table.name, spec.name, spec.digest_column, request.clauses, any_column
            )
        )
    if rule is False:
        return []
    if rule is not True:
        request = dataclasses.replace(request, rule=_rule_sql(using, request.table, rule))
    if everything:
        rows = _nearest(using, request, request.limit, exact=False)
        if len(rows) < request.limit:
            rows = _nearest(using, request, request.limit, exact=True)
        return [_result(request, pk, distance) for pk, distance in rows]
    return _through_reader(db, using, request)


def _read_filter(db: Any, table: str) -> Any:
    """The wrapper's read rule of ``table`` as a ``Q`` (True or False when it is one of
    those), or True when the wrapper offers none (each row is then read through it)."""
    read_filter = getattr(db, "read_filter", None)
    return read_filter(table) if callable(read_filter) else True


def _rule_sql(using: str, table: Table, rule: Any) -> tuple[str, tuple[Any, ...]]:
    """``pk IN (<the rows the rule admits>)``, compiled by the ORM, so that rows the caller
    may not read never become candidates (they would crowd out the visible ones)."""
    qs = table.model._base_manager.using(using).filter(rule).values("pk")
    sql, params = qs.query.sql_with_params()
    pk = connections[using].ops.quote_name(table.model._meta.pk.column)
    return f"{pk} IN ({sql})", tuple(params)


def _reads_everything(db: Any, table: str) -> bool:
    """Whether ``db`` lets the caller read every row of ``table`` (no row to check)."""
    if isinstance(db, DatabaseReader):  # nothing wraps ctx.db
        return True
    unrestricted = getattr(db, "unrestricted", None)
    return callable(unrestricted) and bool(unrestricted(table))


def _refuse_hidden(db: Any, request: Request) -> None:
    hidden_fields = getattr(db, "hidden_fields", None)
    if not callable(hidden_fields) or not request.clauses:
        return
    hidden = hidden_fields(request.table.name)
    by_column = {request.table.column_for(f): f for f in request.spec.filter_fields}
    for column, _ in request.clauses:
        if by_column[column] in hidden:
            raise QueryError(
                f"{request.where}: field `{by_column[column]}` is hidden from this caller; a "
                "search cannot filter on it"
            )


def _through_reader(db: Any, using: str, request: Request) -> list[dict[str, Any]]:
    """Candidates in distance order, each read through ``db``; the first ``limit`` it returns."""
    kept: list[dict[str, Any]] = []
    seen: set[Any] = set()
    wanted, exact = request.limit, False
    while True:
        rows = _nearest(using, request, wanted, exact=exact)
        for pk, distance in rows:
            if pk in seen:
                continue
            seen.add(pk)
            result = _result(request, pk, distance)
            if db.get(request.table.name, result["_id"]) is not None:
                kept.append(result)
                if len(kept) == request.limit:
                    return kept
        if len(rows) < wanted and exact:
            return kept  # no row left
        if len(rows) < wanted:
            exact = True  # the index scan came back short: scan exactly
        elif wanted >= MAX_CANDIDATES:
            return kept
        else:
            wanted = min(wanted * 4, MAX_CANDIDATES)


def _result(request: Request, pk: Any, distance: float) -> dict[str, Any]:
    """``{_id, _score}``, read as Convex code reads it too (``hit._id``)."""
    distance = float(distance)
    score = 1.0 - distance if request.spec.distance == "cosine" else -distance
    return Document(_id=ids.encode_id(request.table.name, pk), _score=score)


@own_statements  # recorded precisely as a VectorRead, not as a whole-table read
def _nearest(using: str, request: Request, count: int, *, exact: bool) -> list[tuple[Any, float]]:
    """(pk, distance) of the ``count`` nearest rows passing the filter, through the HNSW index
    (``exact``: a scan ordered by distance, which no index serves)."""
    connection = connections[using]
    qn = connection.ops.quote_name
    model = request.table.model
    db_columns = {f.attname: f.column for f in model._meta.concrete_fields}
    column = qn(db_columns[request.spec.column])
    distance = f"({column} {OPERATORS[request.spec.distance]} %s::vector)"
    where, params = [f"{column} IS NOT NULL"], [request.vector]
    if request.clauses:
        terms = []
        for attname, value in request.clauses:
            if value is None:
                terms.append(f"{qn(db_columns[attname])} IS NULL")
            else:
                terms.append(f"{qn(db_columns[attname])} = %s")
                params.append(value)
        where.append("(" + " OR ".join(terms) + ")")
    if request.rule is not None:
        where.append(request.rule[0])
        params.extend(request.rule[1])
    order = f"{distance} + 0" if exact else distance  # "+ 0": no index matches the ordering
    sql = (
        f"SELECT {qn(model._meta.pk.column)}, {distance} FROM {qn(model._meta.db_table)} "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s"
    )
    low, high = EF_SEARCH
    try:
        with connection.cursor() as cursor:
            if not exact:
                cursor.execute(
                    "SELECT set_config('hnsw.ef_search', %s, true)",
                    [str(max(low, min(high, EF_FACTOR * count)))],
                )
            cursor.execute(sql, [*params, request.vector, count])
            return [(pk, d) for pk, d in cursor.fetchall()]
    except ProgrammingError as exc:
        if "does not exist" in str(exc):  # no pgvector type or operator, or no column yet
            raise QueryError(
                f"{request.where}: the database cannot run it ({str(exc).splitlines()[0]}): "
                "the pgvector extension and the table's vector column come from its migration "
                "(pgvector.django.VectorExtension() first, on a server that ships pgvector): "
                "run `manage.py migrate`; see docs/vector-search.md"
            ) from None
        raise
