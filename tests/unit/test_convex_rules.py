"""Convex's argument rules and documents that read like Convex's (issue: porting Convex apps):
functions without validators accept any arguments, `v.pagination_opts()`, the object helpers,
`Document`'s attribute access and the whole-number rule."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from reactive import Document, Int64, internal
from reactive.errors import ConfigurationError, FunctionNotFound
from reactive.validators import compile_args, compile_returns, describe_errors, v
from reactive.values import encode, whole


def args_of(handler: Any, args: Any = None) -> Any:
    return compile_args(handler, args, "t")


def test_a_function_without_validators_accepts_any_arguments() -> None:
    def no_params(ctx): ...  # type: ignore[no-untyped-def]

    def unannotated(ctx, body, limit=10): ...  # type: ignore[no-untyped-def]

    loose = args_of(no_params)
    assert loose.accepts_any
    assert loose({"sessionId": "s", "n": 1.0}) == {}  # nothing to pass: dropped, not refused
    named = args_of(unannotated)
    assert named.accepts_any
    assert named({"body": "hi", "extra": [1]}) == {"body": "hi", "limit": 10}
    with pytest.raises(ValidationError) as exc:  # a parameter with no default is still needed
        named({"extra": 1})
    assert "missing the required field `body`" in describe_errors(exc.value)


def test_one_hint_or_args_makes_the_function_strict_as_convex_args() -> None:
    def hinted(ctx, body: str, limit=10): ...  # type: ignore[no-untyped-def]

    def declared(ctx): ...  # type: ignore[no-untyped-def]

    for validate in (args_of(hinted), args_of(declared, {})):
        assert not validate.accepts_any
        with pytest.raises(ValidationError) as exc:
            validate({"body": "x", "sneaky": 1})
        assert "extra field `sneaky`" in describe_errors(exc.value)


def test_pagination_opts_is_convexs_pagination_opts_validator() -> None:
    def h(ctx, paginationOpts): ...  # type: ignore[no-untyped-def]  # noqa: N803

    validate = args_of(h, {"paginationOpts": v.pagination_opts()})
    opts = {"numItems": 5.0, "cursor": None}
    assert validate({"paginationOpts": opts}) == {"paginationOpts": {"numItems": 5, "cursor": None}}
    full = {
        "numItems": 5,
        "cursor": "abc",
        "endCursor": None,
        "id": 3.0,
        "maximumRowsRead": 100,
        "maximumBytesRead": 1000,
    }
    assert validate({"paginationOpts": full})["paginationOpts"] == full
    for bad in (
        {"cursor": None},  # numItems is required
        {"numItems": 5},  # so is cursor (null on the first page)
        {"numItems": "5", "cursor": None},
        {"numItems": 5, "cursor": None, "other": 1},
    ):
        with pytest.raises(ValidationError):
            validate({"paginationOpts": bad})


def test_object_helpers_pick_omit_extend_partial() -> None:
    base = v.object({"a": v.string(), "b": v.number(), "c": v.optional(v.boolean())})
    assert list(base.pick("a", "c").fields) == ["a", "c"]
    assert list(base.omit("b").fields) == ["a", "c"]
    extended = base.extend({"d": v.id("messages"), "a": v.number()})
    assert list(extended.fields) == ["a", "b", "c", "d"]
    check = compile_returns(lambda ctx: None, extended)
    with pytest.raises(ValidationError):
        check({"a": "now a number", "b": 1, "d": "x"})
    partial = compile_returns(lambda ctx: None, base.partial())
    assert partial({}) == {}
    assert partial({"b": 2.5}) == {"b": 2.5}
    with pytest.raises(ValidationError):
        partial({"z": 1})  # partial, not open: unknown keys are still refused
    assert list(base.fields) == ["a", "b", "c"]  # the helpers build new validators
    with pytest.raises(ConfigurationError, match=r"pick\(\): no field 'zz' \(fields: a, b, c\)"):
        base.pick("a", "zz")
    with pytest.raises(ConfigurationError, match=r"omit\(\): no field 'q'"):
        base.omit("q")


def test_documents_read_fields_as_attributes_and_encode_as_dicts() -> None:
    doc = Document(_id="x", _creationTime=1.5, body="hi", items=[1])
    assert (doc._id, doc._creationTime, doc.body) == ("x", 1.5, "hi")
    assert doc["body"] == doc.body
    assert callable(doc.items)  # a dict method wins; the field is doc["items"]
    assert doc["items"] == [1]
    with pytest.raises(AttributeError, match=r"no field 'bdy' \(fields: _id, _creationTime, body"):
        _ = doc.bdy
    assert getattr(doc, "missing", None) is None
    assert not hasattr(doc, "__html__")  # protocols probed by templates and libraries
    doc.body = "changed"
    assert doc["body"] == "changed"
    del doc.body
    assert "body" not in doc
    assert json.loads(json.dumps(doc)) == {"_id": "x", "_creationTime": 1.5, "items": [1]}
    assert encode(doc) == {"_id": "x", "_creationTime": 1.5, "items": [1.0]}
    assert type(encode(doc)) is dict


def test_whole_numbers_print_whole_and_encode_as_before() -> None:
    assert (whole(4.0), f"{whole(4.0)}") == (4, "4")
    assert f"{whole(2.5)}" == "2.5"
    assert math.copysign(1, whole(-0.0)) < 0  # -0.0 stays a float: 0 would lose its sign
    assert isinstance(whole(float(2**53 + 2)), float)  # an int beyond 2**53 could not encode
    assert math.isnan(whole(math.nan)) and whole(math.inf) == math.inf
    assert encode(whole(4.0)) == encode(4.0) == 4.0
    number = compile_returns(lambda ctx: None, v.number())
    assert number(4.0) == 4 and isinstance(number(4.0), int) and repr(number(4.0)) == "4"
    assert type(number(4.5)) is float
    int64 = compile_returns(lambda ctx: None, v.int64())
    assert type(int64(Int64(4))) is Int64  # v.int64(): an Int64, `$integer` on the wire


def test_a_reference_ending_in_underscore_reaches_the_name_without_it() -> None:
    from reactive import api, internal_query
    from reactive.functions.registry import registry, resolve

    @internal_query(path="porting_probe:import")
    def import_(ctx):  # type: ignore[no-untyped-def]
        return None

    try:
        assert (
            resolve(internal.porting_probe.import_, from_client=False)[0] == "porting_probe:import"
        )
        with pytest.raises(FunctionNotFound):  # the fallback keeps internal functions internal
            resolve(api.porting_probe.import_, from_client=True)
        with pytest.raises(FunctionNotFound):  # only references: a wire path is exact
            resolve("porting_probe:import_", from_client=False)
    finally:
        registry.unregister("porting_probe:import")


def test_a_whole_number_stays_a_number_for_int64_and_unions() -> None:
    four = compile_returns(lambda ctx: None, v.number())(4.0)
    assert (four, repr(four), f"{four}", four + 1) == (4, "4", "4", 5)
    int64 = compile_returns(lambda ctx: None, v.int64())
    with pytest.raises(ValidationError):
        int64(four)  # Convex refuses a number where a bigint is declared
    either = compile_returns(lambda ctx: None, v.union(v.int64(), v.number()))
    assert not isinstance(either(four), Int64)  # still a number on the wire, not a bigint
    assert encode(either(four)) == 4.0
    assert isinstance(either(Int64(4)), Int64)
