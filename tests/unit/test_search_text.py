"""Full-text search, without a database: the declaration (`SearchIndex`, its migration form,
the registration checks) and the text → tsquery compilation (Convex's tokenization and
limits; user text never becomes tsquery syntax)."""

from __future__ import annotations

import pytest
from django.db import models

from reactive.errors import ConfigurationError, QueryError
from reactive.search import SearchIndex
from reactive.search.text_index import search_specs, text_digest
from reactive.search.text_query import terms_of, tsquery_text


def fields(**kinds: models.Field) -> dict[str, models.Field]:
    for name, field in kinds.items():
        field.set_attributes_from_name(name)
    return kinds


FIELDS = fields(
    body=models.TextField(),
    title=models.CharField(max_length=10),
    channel=models.CharField(max_length=10),
    score=models.IntegerField(),
)


# --- the declaration ------------------------------------------------------------------------


def test_deconstruct_round_trips() -> None:
    index = SearchIndex(name="s_body", search_field="body", filter_fields=["channel"])
    path, args, kwargs = index.deconstruct()
    assert path == "reactive.search.SearchIndex" and args == ()
    assert kwargs == {
        "name": "s_body",
        "search_field": "body",
        "filter_fields": ["channel"],
        "language": "simple",  # the default, as Convex: no stemming
    }
    again = SearchIndex(**kwargs)
    assert again == index and again.deconstruct() == (path, args, kwargs)
    assert index.clone() == index
    english = SearchIndex(name="s2", search_field="body", language="english")
    assert english.deconstruct()[2] == {"name": "s2", "search_field": "body", "language": "english"}
    assert english != SearchIndex(name="s2", search_field="body")


def test_it_is_a_gin_expression_index() -> None:
    from django.contrib.postgres.indexes import GinIndex

    index = SearchIndex(name="s_body", search_field="body")
    assert isinstance(index, GinIndex) and index.expressions and not index.fields


@pytest.mark.parametrize("language", ["english'; drop table x; --", "", "English", 3])
def test_a_language_must_be_a_configuration_name(language: object) -> None:
    with pytest.raises(ConfigurationError, match="language"):
        SearchIndex(name="s", search_field="body", language=language)  # type: ignore[arg-type]


def test_specs_by_name_and_short_name() -> None:
    specs = search_specs(
        "notes",
        [SearchIndex(name="notes_search", search_field="body", filter_fields=["channel"])],
        FIELDS,
    )
    assert specs["search"] is specs["notes_search"]
    spec = specs["search"]
    assert (spec.search_field, spec.filter_fields, spec.digest_column) == (
        "body",
        ("channel",),
        "body#md5",
    )


def test_plain_indexes_are_not_search_indexes() -> None:
    assert search_specs("t", [models.Index(fields=["title"], name="by_title")], FIELDS) == {}


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (SearchIndex(name="ix", search_field="nope"), "search_field 'nope' is not a field"),
        (SearchIndex(name="ix", search_field="score"), "IntegerField; it must be a CharField"),
        (
            SearchIndex(name="ix", search_field="body", filter_fields=["nope"]),
            "filter field 'nope' is not a field",
        ),
        (
            SearchIndex(name="ix", search_field="body", filter_fields=["title"] * 17),
            "17 filter fields; at most 16",
        ),
        (
            SearchIndex(name="ix", search_field="body", filter_fields=["title", "title"]),
            "listed twice",
        ),
    ],
)
def test_bad_declarations_name_the_table_and_the_index(index: SearchIndex, message: str) -> None:
    with pytest.raises(ConfigurationError, match=r"table 't', search index 'ix'") as err:
        search_specs("t", [index], FIELDS)
    assert message in str(err.value)


def test_at_most_four_search_indexes() -> None:
    five = [SearchIndex(name=f"s{i}", search_field="body") for i in range(5)]
    with pytest.raises(ConfigurationError, match="table 't' declares 5 search indexes"):
        search_specs("t", five, FIELDS)
    assert len(search_specs("t", five[:4], FIELDS)) == 4


def test_the_digest_is_postgres_md5() -> None:
    assert text_digest("hello") == "5d41402abc4b2a76b9719d911017c592"
    assert text_digest(None) is None


# --- text → tsquery -------------------------------------------------------------------------


def test_terms_split_on_anything_but_letters_and_digits_and_are_lowercased() -> None:
    assert terms_of("Hello, World! it's 2024_v2 naïve", "w") == [
        "hello",
        "world",
        "it",
        "s",
        "2024",
        "v2",
        "naïve",
    ]


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "!!! ,,, ---", "'\"&|!():*\\", "\x00\x00"])
def test_no_terms(text: str) -> None:
    assert terms_of(text, "w") == [] and tsquery_text([]) == ""


def test_a_term_longer_than_32_characters_is_dropped() -> None:
    assert terms_of("a" * 32 + " " + "b" * 33 + " c", "w") == ["a" * 32, "c"]


def test_at_most_16_terms() -> None:
    assert len(terms_of(" ".join(["w"] * 16), "w")) == 16
    with pytest.raises(QueryError, match="where: the search text has more than 16 terms"):
        terms_of(" ".join(["w"] * 17), "where")


def test_a_megabyte_of_text() -> None:
    assert terms_of("x" * 1_000_000, "w") == []  # one term of a million letters: dropped
    with pytest.raises(QueryError, match="more than 16 terms"):
        terms_of("ab " * 350_000, "w")


def test_tsquery_is_any_term_the_last_one_a_prefix() -> None:
    assert tsquery_text(["hello", "wor"]) == "'hello' | 'wor':*"
    assert tsquery_text(["x"]) == "'x':*"


@pytest.mark.parametrize(
    "text", ["a'b", "a\\b", "a&b|c", "!(a):*", "a\x00b", "'); drop table articles; --"]
)
def test_operators_and_quotes_are_separators(text: str) -> None:
    tsq = tsquery_text(terms_of(text, "w"))
    body = tsq.replace("' | '", "").removeprefix("'").removesuffix("':*")
    assert body.isalnum(), tsq
