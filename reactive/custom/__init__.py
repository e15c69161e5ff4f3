"""Custom function builders, with convex-helpers' semantics: ``custom_query``,
``custom_mutation``, ``custom_action`` and ``custom_ctx``.

::

    user_query = custom_query(query, custom_ctx(with_user))

    @user_query
    def my_messages(ctx, limit: int = 20): ...   # ctx.user is set

See docs/custom-functions.md.
"""

from __future__ import annotations

from .builder import CustomBuilder, CustomDecorator, custom_action, custom_mutation, custom_query
from .customization import CustomInput, Customization, custom_ctx

__all__ = [
    "CustomBuilder",
    "CustomDecorator",
    "CustomInput",
    "Customization",
    "custom_action",
    "custom_ctx",
    "custom_mutation",
    "custom_query",
]
