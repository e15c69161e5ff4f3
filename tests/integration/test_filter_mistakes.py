"""`filter(lambda d: d["field"])` written as if the lambda got a document: a clear error."""

from __future__ import annotations

import pytest

from reactive.errors import QueryError
from tests.helpers import in_query

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("predicate, written", [
    (lambda d: d["name"] == "general", "q['name']"),
    (lambda d: d.name == "general", "q.name"),
])
def test_filter_over_a_document_says_what_to_write(predicate, written):
    out = in_query(lambda ctx: ctx.db.query("channels").filter(predicate).collect())
    assert isinstance(out.error, QueryError)
    assert out.error.message == (
        f"filter(): the function gets a filter builder, not a document, so {written} means "
        "nothing; compare fields with q.eq(q.field('name'), <value>), q.neq, q.lt, q.gt, ... "
        "combined with q.and_/q.or_/q.not_")


def test_the_builder_still_filters():
    out = in_query(lambda ctx: ctx.db.query("channels")
                   .filter(lambda q: q.eq(q.field("name"), "nope")).collect())
    assert out.unwrap() == []
