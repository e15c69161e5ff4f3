"""The exception tree: every exception reactive defines is a `ReactiveError` or, for control
flow, a `ControlFlow`, and all of them live in `reactive.errors` (docs/errors.md draws it)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import reactive
from reactive import errors


def _reactive_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(reactive.__path__, "reactive."):
        if ".migrations" in info.name or ".management" in info.name:
            continue
        names.append(info.name)
    return names


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class whose home is a reactive module, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for name in _reactive_modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("reactive"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


@pytest.mark.django_db
def test_every_exception_reactive_defines_is_rooted_and_lives_in_errors() -> None:
    classes = _exception_classes()
    assert "reactive.errors.ReactiveError" in classes
    for qualname, cls in classes.items():
        assert cls.__module__ == "reactive.errors", f"{qualname} is defined outside errors.py"
        assert issubclass(cls, (errors.ReactiveError, errors.ControlFlow)), (
            f"{qualname} is neither a ReactiveError nor a ControlFlow"
        )


@pytest.mark.parametrize(
    "name", ["ProtocolError", "RetriesExhausted", "TransientFailure", "ValueEncodingError"]
)
def test_layer_errors_are_reactive_errors_but_not_function_errors(name: str) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, errors.ReactiveError)
    # The executor's `except FunctionError` must not start catching them: a ValueEncodingError
    # or RetriesExhausted raised in a call is translated, not passed to the client as is.
    assert not issubclass(cls, errors.FunctionError)
    assert not issubclass(cls, (errors.RequestError, errors.ConfigurationError))


def test_value_encoding_error_is_still_a_value_error() -> None:
    """`except ValueError` around decode() (HTTP bodies, sync frames, cursors) keeps catching it."""
    assert issubclass(errors.ValueEncodingError, ValueError)
    exc = errors.ValueEncodingError("bad value at value.a")
    assert str(exc) == exc.message == "bad value at value.a"
    assert exc.args == ("bad value at value.a",)


def test_retries_exhausted_keeps_its_fields_and_message() -> None:
    exc = errors.RetriesExhausted(12, "40001", 3.0)
    assert (exc.attempts, exc.sqlstate, exc.queued_seconds) == (12, "40001", 3.0)
    assert str(exc) == exc.message == "still failing with SQLSTATE 40001 after 12 attempts"


def test_control_flow_is_its_own_branch() -> None:
    assert issubclass(errors.ControlFlow, BaseException)
    # `except Exception` in user code must not swallow a retry signal.
    assert not issubclass(errors.ControlFlow, Exception)
    assert not issubclass(errors.ControlFlow, errors.ReactiveError)
    assert issubclass(errors.RetryTransaction, errors.ControlFlow)
    assert errors.RetryTransaction("40P01").sqlstate == "40P01"


def test_old_import_paths_still_work() -> None:
    from reactive.scheduler.jobs import TransientFailure
    from reactive.sync.protocol import ProtocolError
    from reactive.transactions.retry import RetriesExhausted, RetryTransaction
    from reactive.values import ValueEncodingError

    assert ProtocolError is errors.ProtocolError
    assert RetriesExhausted is errors.RetriesExhausted
    assert RetryTransaction is errors.RetryTransaction
    assert TransientFailure is errors.TransientFailure
    assert ValueEncodingError is errors.ValueEncodingError


def test_errors_module_docstring_and_docs_draw_every_class() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text()
    tree = page.split("```text", 1)[1].split("```", 1)[0]
    for name, cls in vars(errors).items():
        if (
            inspect.isclass(cls)
            and issubclass(cls, BaseException)
            and cls.__module__ == "reactive.errors"
        ):
            assert re.search(rf"\b{name}\b", errors.__doc__ or ""), f"errors.py omits {name}"
            assert re.search(rf"\b{name}\b", tree), f"docs/errors.md's tree omits {name}"
