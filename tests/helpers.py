"""Run an ad-hoc function body as a query or mutation through the real executor."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from reactive import internal_mutation, internal_query
from reactive.functions.executor import execute
from reactive.functions.outcome import Outcome
from reactive.functions.registry import registry

_counter = itertools.count()


def _run(decorator: Any, body: Callable[[Any], Any], **options: Any) -> Outcome:
    path = f"adhoc:f{next(_counter)}"

    def handler(ctx: Any) -> Any:
        return body(ctx)

    decorator(path=path, **options)(handler)
    try:
        return execute(path, {})
    finally:
        registry.unregister(path)


def in_query(body: Callable[[Any], Any]) -> Outcome:
    return _run(internal_query, body)


def in_mutation(body: Callable[[Any], Any], **options: Any) -> Outcome:
    return _run(internal_mutation, body, **options)
