"""Helpers nothing called are gone, and the scheduler names its states through one enum."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reactive import clock, limits
from reactive.db import reader
from reactive.scheduler import states

SCHEDULER = Path(states.__file__).parent


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (reader, "whole_table"),
        (limits.Budget, "remaining_seconds"),
        (limits.Budget, "deadline"),
        (clock, "latest_ts"),
    ],
)
def test_unused_helpers_are_removed(owner: object, name: str) -> None:
    assert not hasattr(owner, name)


@pytest.mark.django_db
def test_the_model_state_is_the_scheduler_enum() -> None:
    from reactive.models import ScheduledFunction

    assert ScheduledFunction.State is states.State
    assert set(states.UNFINISHED) | set(states.FINISHED) == set(states.State)


def _state_literals(path: Path) -> list[str]:
    """String literals equal to a state that the module compares with, filters on or writes
    (a bare ``return "success"`` is a word for the log, not a state)."""
    values = {s.value for s in states.State}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        exprs: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            exprs = [node.left, *node.comparators]
        elif (
            isinstance(node, ast.keyword)
            and node.arg
            and (node.arg.startswith("state") or node.arg == "expect")
        ):
            exprs = [node.value]
        elif isinstance(node, ast.Call):
            exprs = list(node.args)
        for expr in exprs:
            elts = expr.elts if isinstance(expr, (ast.Tuple, ast.List, ast.Set)) else [expr]
            found += [
                f"{path.name}:{e.lineno} {e.value!r}"
                for e in elts
                if isinstance(e, ast.Constant) and e.value in values
            ]
    return found


def test_the_scheduler_spells_no_state_by_hand() -> None:
    modules = [p for p in SCHEDULER.glob("*.py") if p.name != "states.py"]
    assert [hit for p in modules for hit in _state_literals(p)] == []
