"""`filter(lambda d: d["field"])` written as if the lambda got a document: a clear error."""

from __future__ import annotations

import pytest

from reactive.errors import QueryError
from tests.helpers import in_query

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "predicate, written",
    [
        (lambda d: d["name"] == "general", "q['name']"),
        (lambda d: d.name == "general", "q.name"),
    ],
)
def test_filter_over_a_document_says_what_to_write(predicate, written):
    out = in_query(lambda ctx: ctx.db.query("channels").filter(predicate).collect())
    assert isinstance(out.error, QueryError)
    assert out.error.message == (
        f"filter(): the function gets a filter builder, not a document, so {written} means "
        "nothing; compare fields with q.eq(q.field('name'), <value>), q.neq, q.lt, q.gt, ... "
        "combined with q.and_/q.or_/q.not_"
    )


def test_the_builder_still_filters():
    out = in_query(
        lambda ctx: (
            ctx.db.query("channels").filter(lambda q: q.eq(q.field("name"), "nope")).collect()
        )
    )
    assert out.unwrap() == []


def test_a_bare_boolean_field_filters_where_it_is_true():
    """Convex accepts `filter(q => q.field("done"))` for a boolean field."""
    from tests.testapp.models import Note

    text = "bare-field"
    Note.objects.create(text=text, done=True)
    Note.objects.create(text=text, done=False)
    out = in_query(
        lambda ctx: [
            n["done"]
            for n in ctx.db.query("notes")
            .filter(lambda q: q.and_(q.eq(q.field("text"), text), q.field("done")))
            .collect()
        ]
    )
    assert out.unwrap() == [True]
    out = in_query(
        lambda ctx: [
            n["done"]
            for n in ctx.db.query("notes")
            .filter(lambda q: q.and_(q.eq(q.field("text"), text), q.not_(q.field("done"))))
            .collect()
        ]
    )
    assert out.unwrap() == [False]
    out = in_query(
        lambda ctx: [
            n["text"]
            for n in ctx.db.query("notes").filter(lambda q: q.field("done")).collect()
            if n["text"] == text
        ]
    )
    assert out.unwrap() == [text]


@pytest.mark.parametrize(
    "predicate, operator, written",
    [
        (lambda q: q.field("name") == "general", "==", "q.eq(q.field('name'), <value>)"),
        (lambda q: q.field("name") != "general", "!=", "q.neq(q.field('name'), <value>)"),
        (lambda q: q.field("name") > "a", ">", "q.gt(q.field('name'), <value>)"),
    ],
)
def test_python_operators_say_what_to_write(predicate, operator, written):
    out = in_query(lambda ctx: ctx.db.query("channels").filter(predicate).collect())
    assert isinstance(out.error, QueryError)
    assert out.error.message.startswith(
        f"filter(): Python's {operator} does not build a filter; write {written}"
    )


def test_python_and_or_say_what_to_write():
    out = in_query(
        lambda ctx: (
            ctx.db.query("channels")
            .filter(lambda q: q.eq(q.field("name"), "a") and q.eq(q.field("topic"), "b"))
            .collect()
        )
    )
    assert isinstance(out.error, QueryError)
    assert "q.and_(a, b)" in out.error.message
