"""What clients see of a failed call: `error_message` and the one ConvexError payload,
`error_data`, shared by the HTTP API, WebSocket responses and subscription results."""

from __future__ import annotations

from reactive import ConvexError, Int64
from reactive.errors import InternalError
from reactive.functions.outcome import error_data, error_message


def test_a_convex_error_carries_its_data_encoded_as_the_client_asked() -> None:
    error = ConvexError({"code": "NOPE", "n": Int64(7)})
    assert error_data(error) == {"errorData": {"code": "NOPE", "n": {"$integer": "BwAAAAAAAAA="}}}
    assert error_data(error, clean=True) == {"errorData": {"code": "NOPE", "n": "7"}}
    assert (
        error_message(error)
        == 'Uncaught ConvexError: {"code": "NOPE", "n": {"$integer": "BwAAAAAAAAA="}}'
    )
    assert error_data(ConvexError("plain")) == {"errorData": "plain"}


def test_other_errors_carry_no_data() -> None:
    assert error_data(InternalError("Server Error")) == {}
    assert error_data(InternalError("Server Error"), unencodable_as_null=True) == {}


def test_data_that_is_no_convex_value_is_left_out_or_null() -> None:
    error = ConvexError({1, 2})
    assert error_data(error) == {}  # WebSocket responses and subscription results
    assert error_data(error, unencodable_as_null=True) == {"errorData": None}  # HTTP
    assert error_message(error) == "Uncaught ConvexError: {1, 2}"
