"""Read-set soundness: Postgres orders index keys as `reactive.readset.order_key` does
(NULLs, NaN, datetimes with and without an offset, the collation)."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactive.db.tables import tables
from reactive.readset import key_of
from tests import soundness_support as support
from tests.helpers import in_mutation
from tests.soundness_support import THING_ROW, UTC, Thing, check, run_query, thing_doc

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
things = support.things


# --- property: NULL-able indexed columns of every type --------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(THING_ROW, min_size=2, max_size=12))
def test_sql_order_agrees_with_python_key_order(things: None, rows: list[dict[str, Any]]) -> None:
    """The read-set intervals compare keys in Python; Postgres must order rows the same way."""
    Thing.objects.all().delete()
    in_mutation(lambda ctx: [ctx.db.insert("snd", thing_doc(r)) for r in rows]).unwrap()
    table = tables.get("snd")
    for index in table.indexes.values():
        cols = index.key_columns
        keys = [key_of(k) for k in Thing.objects.order_by(*cols).values_list(*cols)]
        assert keys == sorted(keys), f"{index.name}: SQL order differs from Python's"
        desc = [
            key_of(k) for k in Thing.objects.order_by(*(f"-{c}" for c in cols)).values_list(*cols)
        ]
        assert desc == sorted(keys, reverse=True), f"{index.name} desc"


def test_database_collation_is_code_point_order():
    """Recorded for the report: the embedded server's collation (C.UTF-8 here)."""
    with connection.cursor() as cur:
        cur.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        (collation,) = cur.fetchone()
        cur.execute(
            "SELECT array_agg(s ORDER BY s) FROM unnest(%s::text[]) s",
            [["b", "B", "a", "é", "e", "z", "\U0001f600", "ab", "a b", "A", ""]],
        )
        (ordered,) = cur.fetchone()
    assert collation in ("C", "C.UTF-8", "C.utf8", "POSIX"), collation
    assert ordered == sorted(ordered)


# --- directed scenarios: bugs (each fails today) --------------------------------------------


def test_bug_nan_in_an_indexed_float_column(things: None):
    """Postgres sorts NaN above every number; Python says NaN is neither < nor > anything, so
    order_key puts a NaN key outside every range. A row patched to NaN enters `gte(1.0)` in SQL
    but not in the read set."""
    in_mutation(lambda ctx: [ctx.db.insert("snd", {"real": r}) for r in (0.0, 2.0)]).unwrap()
    nid = run_query(
        lambda ctx: (
            ctx.db.query("snd").with_index("by_real", lambda q: q.eq("real", 0.0)).first()["_id"]
        )
    ).unwrap()
    check(
        lambda ctx: (
            ctx.db.query("snd").with_index("by_real", lambda q: q.gte("real", 1.0)).collect()
        ),
        lambda ctx: ctx.db.patch("snd", nid, {"real": math.nan}),
    )


def test_bug_nan_orders_differently_in_sql_and_python(things: None):
    in_mutation(
        lambda ctx: [ctx.db.insert("snd", {"real": r}) for r in (math.nan, 1.0, 2.0)]
    ).unwrap()
    cols = tables.get("snd").indexes["by_real"].key_columns
    keys = [key_of(k) for k in Thing.objects.order_by(*cols).values_list(*cols)]
    assert all(a < b for a, b in zip(keys, keys[1:], strict=False)), keys


def test_bug_naive_datetime_bound_cannot_be_compared_with_any_key(things: None):
    """Convex values have no date type: JSON clients send date-times as strings, often without
    an offset. `gt("when", "2025-01-01T00:00:00")` becomes a naive datetime in the read set's
    Bound (Django makes it UTC only in the SQL); every key it meets, from the change log or from
    `Outcome.writes`, is aware, and `ReadSet.overlaps` raises TypeError (in the listener's tick).
    """
    with warnings.catch_warnings():  # Django only warns (the suite turns warnings into errors)
        warnings.simplefilter("ignore", RuntimeWarning)
        check(
            lambda ctx: (
                ctx.db.query("snd")
                .with_index("by_when", lambda q: q.gt("when", "2025-01-01T00:00:00"))
                .collect()
            ),
            lambda ctx: ctx.db.insert("snd", {"when": dt.datetime(2030, 1, 1, tzinfo=UTC)}),
        )


def test_bug_naive_datetime_write_leaves_a_naive_key_in_outcome_writes(things: None):
    """The same on the write side: a naive value is stored as UTC, but `Outcome.writes` keeps
    the naive Python value (the change log has the stored, aware one)."""
    tid = in_mutation(
        lambda ctx: ctx.db.insert("snd", {"when": dt.datetime(2024, 1, 1, tzinfo=UTC)})
    ).unwrap()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check(
            lambda ctx: (
                ctx.db.query("snd")
                .with_index("by_when", lambda q: q.gt("when", dt.datetime(2025, 1, 1, tzinfo=UTC)))
                .collect()
            ),
            lambda ctx: ctx.db.patch("snd", tid, {"when": "2030-01-01T00:00:00"}),
        )
