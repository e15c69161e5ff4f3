"""Paths, references and the registry (no database)."""

from __future__ import annotations

import pytest

from reactive import api, internal, query
from reactive.errors import DuplicateFunction
from reactive.functions.registry import canonical_path, registry


@pytest.mark.parametrize(
    "given, want",
    [
        ("messages:list", "messages:list"),
        ("messages.js:list", "messages:list"),
        ("messages", "messages:default"),
        ("dir/file:fn", "dir/file:fn"),
        ("dir/file.js:fn", "dir/file:fn"),
        ("a:b:c", "a:b:c"),
    ],
)
def test_canonical_path(given, want):
    assert canonical_path(given) == want


def test_references():
    assert api.chat.send.path == "chat:send"
    assert api.chat.messages.send.path == "chat/messages:send"
    assert internal.chat.purge.internal and not api.chat.send.internal
    with pytest.raises(ValueError, match="names a module"):
        _ = api.chat.path


def test_discovered_paths_follow_convex_rules():
    assert registry.get("testapp:ping").kind.value == "query"
    assert registry.get("testapp/messages:send").kind.value == "mutation"
    assert registry.get("testapp") is registry.get("testapp:default")
    assert registry.get("testapp.js:ping") is registry.get("testapp:ping")


def test_duplicate_names_are_an_error():
    @query(path="dup_test:one")
    def first(ctx) -> str:
        return "1"

    try:
        with pytest.raises(DuplicateFunction, match="dup_test:one"):

            @query(path="dup_test:one")
            def second(ctx) -> str:
                return "2"
    finally:
        registry.unregister("dup_test:one")


def test_function_objects_are_not_called_directly():
    fn = registry.get("testapp:ping")
    with pytest.raises(TypeError, match="through the executor"):
        fn(None)


def test_async_queries_are_refused():
    @query(path="bad:async_q")
    async def q(ctx) -> None: ...

    try:  # recorded for `manage.py check` (reactive.E020), not raised at import
        assert q.problems == (
            "queries and mutations are synchronous (they run in one database "
            "transaction); only actions may be async",
        )
    finally:
        registry.unregister("bad:async_q")


def test_module_outside_functions_needs_path():
    from reactive.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="path="):

        @query
        def stray(ctx) -> None: ...


def test_unknown_decorator_options_are_refused():
    with pytest.raises(TypeError):

        @query(path="bad:opts", return_=None)
        def q(ctx) -> None: ...

    assert registry.get("bad:opts") is None
