"""reactive: Convex-style reactive backend functions for Django.

The public API. Importing `reactive` does not touch the app registry, so it is safe in settings
files; names are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "ArgumentValidationError": "reactive.errors",
    "ConflictError": "reactive.errors",
    "ConvexError": "reactive.errors",
    "CronJobs": "reactive.scheduler.crons",
    "Customization": "reactive.custom",
    "Document": "reactive.db.documents",
    "FunctionError": "reactive.errors",
    "Identity": "reactive.auth",
    "Int64": "reactive.values",
    "REMOVE": "reactive.db.documents",
    "ReactiveError": "reactive.errors",
    "ActionCtx": "reactive.functions.context",
    "MutationCtx": "reactive.functions.context",
    "QueryCtx": "reactive.functions.context",
    "SchedulerError": "reactive.errors",
    "action": "reactive.functions.decorators",
    "api": "reactive.functions.references",
    "custom_action": "reactive.custom",
    "custom_ctx": "reactive.custom",
    "custom_mutation": "reactive.custom",
    "custom_query": "reactive.custom",
    "execute": "reactive.functions.executor",
    "internal": "reactive.functions.references",
    "internal_action": "reactive.functions.decorators",
    "internal_mutation": "reactive.functions.decorators",
    "internal_query": "reactive.functions.decorators",
    "mutation": "reactive.functions.decorators",
    "query": "reactive.functions.decorators",
    "register_table": "reactive.db.tables",
    "table": "reactive.db.tables",
    "v": "reactive.validators",
}

# A literal list, so type checkers see the public names (tests/unit check it matches _EXPORTS).
__all__ = [
    "ActionCtx",
    "ArgumentValidationError",
    "ConflictError",
    "ConvexError",
    "CronJobs",
    "Customization",
    "Document",
    "FunctionError",
    "Identity",
    "Int64",
    "MutationCtx",
    "QueryCtx",
    "REMOVE",
    "ReactiveError",
    "SchedulerError",
    "action",
    "api",
    "custom_action",
    "custom_ctx",
    "custom_mutation",
    "custom_query",
    "execute",
    "internal",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "mutation",
    "query",
    "register_table",
    "table",
    "v",
]

if TYPE_CHECKING:
    from .auth import Identity
    from .custom import Customization, custom_action, custom_ctx, custom_mutation, custom_query
    from .db.documents import REMOVE, Document
    from .db.tables import register_table, table
    from .errors import (
        ArgumentValidationError,
        ConflictError,
        ConvexError,
        FunctionError,
        ReactiveError,
        SchedulerError,
    )
    from .functions.context import ActionCtx, MutationCtx, QueryCtx
    from .functions.decorators import (
        action,
        internal_action,
        internal_mutation,
        internal_query,
        mutation,
        query,
    )
    from .functions.executor import execute
    from .functions.references import api, internal
    from .scheduler.crons import CronJobs
    from .validators import v
    from .values import Int64


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reactive' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return [*globals(), *__all__]
