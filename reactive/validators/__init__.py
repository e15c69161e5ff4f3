"""Validators: the `v` namespace and the compilation of argument/return validators into pydantic.

Two spellings, one machinery. Convex style:
``@mutation(args={"body": v.string()}, returns=v.id("messages"))``. Pythonic: type hints on the
handler, ``def send(ctx, body: str, channel: v.id("channels")) -> str``.
Every `v.*` validator is also a valid annotation (it provides its own pydantic core schema), and
plain types go through pydantic in strict mode, except that an ``int`` accepts an integral float
(the official clients send every number as a float64). Objects reject extra keys, as in Convex.
Validators compile once, at registration. Id validators check the id's format and table, never
existence (that is ``ctx.db.get``'s job).

This package's face only re-exports: the builders live in `builders.py`, their compilation in
`compile.py`, and the check of what a Convex value can satisfy in `wire.py`.
"""

from __future__ import annotations

from .builders import Validator, unregistered_model, v
from .compile import (
    CompiledArgs,
    CompiledReturns,
    compile_args,
    compile_returns,
    describe_errors,
)

__all__ = [
    "CompiledArgs",
    "CompiledReturns",
    "Validator",
    "compile_args",
    "compile_returns",
    "describe_errors",
    "unregistered_model",
    "v",
]
