"""Validators: `v` builders and type hints compile to strict pydantic validators."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from pydantic import ValidationError

from reactive import ids, query
from reactive.errors import ConfigurationError
from reactive.functions.registry import registry
from reactive.validators import compile_args, compile_returns, describe_errors, v
from reactive.values import Int64
from tests.testapp.models import Channel


def args_of(handler, args=None):
    return compile_args(handler, args, "t")


def test_hints_accept_integral_floats_for_int_and_reject_strings():
    def h(ctx, n: int, tags: list[int] | None = None): ...

    validate = args_of(h)
    assert validate({"n": 3.0}) == {"n": 3, "tags": None}
    assert validate({"n": 3, "tags": [1.0, 2.0]}) == {"n": 3, "tags": [1, 2]}
    for bad in ({"n": "3"}, {"n": 3.5}, {"n": True}, {"n": 1, "tags": ["x"]}):
        with pytest.raises(ValidationError):
            validate(bad)


def test_hints_reject_extra_and_missing_fields_with_names():
    def h(ctx, body: str): ...

    with pytest.raises(ValidationError) as exc:
        args_of(h)({"body": "x", "sneaky": 1})
    assert "`sneaky`" in describe_errors(exc.value)
    with pytest.raises(ValidationError) as exc:
        args_of(h)({})
    assert "missing the required field `body`" in describe_errors(exc.value)


def test_var_kwargs_accepts_anything():
    def h(ctx, **kw: Any): ...

    assert args_of(h)({"a": 1, "b": [2]}) == {"a": 1, "b": [2]}


def test_v_style_object_rules():
    def h(ctx, **kw): ...

    validate = args_of(
        h,
        {
            "s": v.string(),
            "n": v.number(),
            "i": v.int64(),
            "b": v.boolean(),
            "z": v.null(),
            "by": v.bytes(),
            "o": v.object({"k": v.string(), "opt": v.optional(v.number())}),
            "arr": v.array(v.number()),
            "rec": v.record(v.string(), v.boolean()),
            "u": v.union(v.literal("a"), v.literal(1)),
            "maybe": v.optional(v.string()),
            "any": v.any(),
            "nul": v.nullable(v.string()),
        },
    )
    good = {
        "s": "x",
        "n": 1,
        "i": Int64(5),
        "b": False,
        "z": None,
        "by": b"1",
        "o": {"k": "v"},
        "arr": [1.0, 2],
        "rec": {"a": True},
        "u": 1.0,
        "any": [{"x": 1}],
        "nul": None,
    }
    result = validate(good)
    assert result["n"] == 1 and repr(result["n"]) == "1"  # whole: an int, as JavaScript prints it
    assert result["maybe"] is None  # absent optional with no handler default → None
    for key, bad in [
        ("s", 1),
        ("n", "1"),
        ("n", Int64(1)),
        ("i", 1.5),
        ("b", 0),
        ("z", 0),
        ("by", "x"),
        ("o", {"k": "v", "extra": 1}),
        ("o", {}),
        ("arr", [1, "x"]),
        ("rec", {"a": 1}),
        ("u", "c"),
        ("nul", 1),
    ]:
        with pytest.raises(ValidationError):
            validate({**good, key: bad})


def test_v_id_checks_table_not_existence():
    def h(ctx, c): ...

    validate = args_of(h, {"c": v.id("channels")})
    good = ids.encode_id("channels", 99999)
    assert validate({"c": good}) == {"c": good}
    with pytest.raises(ValidationError, match="id of table 'channels'"):
        validate({"c": ids.encode_id("messages", 1)})


def test_v_validators_work_as_annotations():
    def h(ctx, c: v.id("channels"), big: v.int64()): ...

    validate = args_of(h)
    assert validate({"c": ids.encode_id("channels", 1), "big": Int64(2)})["big"] == 2
    with pytest.raises(ValidationError):
        validate({"c": "nope", "big": Int64(2)})


def test_args_must_match_handler_parameters():
    def h(ctx, a): ...

    with pytest.raises(TypeError, match="no parameter"):
        args_of(h, {"b": v.string()})


def test_returns_from_annotation_and_v():
    def h(ctx) -> list[int]: ...

    check = compile_returns(h, None)
    assert check([1.0]) == [1]
    with pytest.raises(ValidationError):
        check(["x"])
    check_v = compile_returns(h, v.object({"a": v.string()}))
    with pytest.raises(ValidationError):
        check_v({"a": "x", "b": 1})


def test_literal_distinguishes_bool_and_number():
    def h(ctx, x): ...

    validate = args_of(h, {"x": v.literal(1)})
    assert validate({"x": 1.0}) == {"x": 1}
    with pytest.raises(ValidationError):
        validate({"x": True})


def test_v_optional_as_a_hint_makes_the_argument_optional():
    def h(ctx, name: v.optional(v.string())): ...

    validate = args_of(h)
    assert validate({}) == {"name": None}
    assert validate({"name": "x"}) == {"name": "x"}
    with pytest.raises(ValidationError):
        validate({"name": None})  # optional means "may be absent", not "may be null"


def test_v_id_takes_a_model_registered_as_a_table():
    def h(ctx, c: v.id(Channel)): ...

    validate = args_of(h)
    cid = ids.encode_id("channels", 7)
    assert validate({"c": cid}) == {"c": cid}
    with pytest.raises(ValidationError) as exc:
        validate({"c": ids.encode_id("messages", 7)})
    assert "id of table 'channels'" in describe_errors(exc.value)
    assert v.id(Channel).describe() == "id('channels')"


def test_v_id_of_a_model_that_is_not_a_table_is_a_check_error_not_a_crash():
    """Written in a signature without `from __future__ import annotations`, `v.id(Model)` runs
    while the module is imported: it must not stop Django from starting (every manage.py
    command, `check` included); `manage.py check` names it, and a call fails clearly."""
    from django.core.checks import run_checks

    @query(path="validators:unregistered_model", args={"group": v.id(Group)})  # runs here
    def f(ctx, group) -> None: ...

    try:
        assert f.id_tables == frozenset({Group})
        errors = [
            m.msg
            for m in run_checks()
            if m.id == "reactive.E020" and m.msg.startswith("validators:unregistered_model")
        ]
        assert errors == [
            "validators:unregistered_model: v.id(Group): the model auth.Group is "
            'not registered as a table; decorate it with @table("name") or call '
            "register_table() in a models module"
        ]
        with pytest.raises(ConfigurationError, match=r"^v\.id\(Group\): the model auth\.Group"):
            f.args({"group": "x"})
    finally:
        registry.unregister("validators:unregistered_model")
    with pytest.raises(TypeError, match=r"v\.id\(\) takes a table name or a model class"):
        v.id(42)
