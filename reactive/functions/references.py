"""`api` and `internal`: references to functions for Python callers.

``api.chat.send`` is the public function at ``"chat:send"``; ``internal.chat.messages.purge`` the
internal one at ``"chat/messages:purge"``. The last attribute is the function name; the ones before
it are the module path. Resolving happens at call time in the executor, so references can be built
at import time, before the registry is filled.
"""

from __future__ import annotations

from typing import Any


class FunctionReference:
    """A path to a function, plus whether the caller asked for an internal one."""

    __slots__ = ("_parts", "_internal")

    def __init__(self, parts: tuple[str, ...], internal: bool) -> None:
        self._parts = parts
        self._internal = internal

    def __getattr__(self, name: str) -> FunctionReference:
        if name.startswith("__"):
            raise AttributeError(name)
        return FunctionReference((*self._parts, name), self._internal)

    @property
    def path(self) -> str:
        if len(self._parts) < 2:
            raise ValueError(
                f"{self!r} names a module, not a function: add the function name "
                "(api.<module>.<function>)"
            )
        return "/".join(self._parts[:-1]) + ":" + self._parts[-1]

    @property
    def internal(self) -> bool:
        return self._internal

    def __repr__(self) -> str:
        root = "internal" if self._internal else "api"
        return ".".join((root, *self._parts))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, FunctionReference) and (other._parts, other._internal) == (
            self._parts,
            self._internal,
        )

    def __hash__(self) -> int:
        return hash((self._parts, self._internal))


api = FunctionReference((), internal=False)
internal = FunctionReference((), internal=True)
