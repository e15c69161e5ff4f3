"""Declaring row-level rules (reactive.rules.ruleset): a bad declaration is a ConfigurationError
naming the table and the rule, when it is made; policies and lookups."""

from __future__ import annotations

import pytest
from django.db.models import Q

from reactive.errors import ConfigurationError
from reactive.rules import Rules, TableRules
from reactive.rules.evaluation import referenced_names


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"reed": lambda ctx, doc: True}, r"rules of table 'posts': unknown rule 'reed'"),
        ({"read": True}, r"rules of table 'posts': `read` must be a function, not bool"),
        ({"modify": "owner"}, r"`modify` must be a function, not str"),
        ({"read_filter": {"owner": 1}}, r"`read_filter` must be a Django Q or fn\(ctx\) -> Q"),
        ({"hide": "salary"}, r"`hide` must be fn\(ctx\) -> field names, or a list"),
        ({"default": "maybe"}, r"rules of table 'posts': `default` must be \"allow\" or \"deny\""),
    ],
)
def test_bad_declarations_name_the_table_and_the_rule(declared: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Rules().table("posts", **declared)


def test_a_table_is_declared_once_and_policies_fall_back() -> None:
    rules = Rules({"posts": TableRules(read_filter=Q(public=True))}, default="deny")
    with pytest.raises(ConfigurationError, match="declared twice"):
        rules.table("posts", read=lambda ctx, doc: True)
    rules.table("notes", default="allow", hide=["text"])
    assert (rules.policy("posts"), rules.policy("notes"), rules.policy("other")) == (
        "deny",
        "allow",
        "deny",
    )
    assert list(rules) == ["notes", "posts"] and not rules.inert
    assert Rules().inert and not Rules(default="deny").inert
    with pytest.raises(ConfigurationError, match=r"Rules\(default=...\) must be"):
        Rules(default="open")  # type: ignore[arg-type]


def test_referenced_names_finds_lookups_and_f_expressions() -> None:
    from django.db.models import F

    q = Q(owner="a") & (Q(salary__gt=3) | ~Q(score=F("salary_cap"))) & Q(team__name="x")
    assert referenced_names(q) == {"owner", "salary", "score", "salary_cap", "team"}
