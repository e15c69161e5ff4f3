"""In-transaction triggers: a handler per table, run for every write through ``ctx.db``.

::

    from reactive.triggers import trigger

    @trigger("comments")
    def count_comments(ctx, change):
        post = (change.new_doc or change.old_doc)["post"]
        ...

Handlers run in the mutation's transaction, for every mutation (public, internal, scheduled,
nested), with a ``ctx.db`` whose own writes run triggers in turn (up to `MAX_DEPTH` levels).
Writes that do not go through ``ctx.db`` (the admin, the ORM, raw SQL, Django's ``on_delete``
cascades) do not run them; subscribers still see those through change capture. See
docs/triggers.md.

Importing this package installs the ``ctx.db`` wrapper (`hook.install`); reactive's app
imports it at start-up, with every app's ``triggers`` module.
"""

from __future__ import annotations

from .cascade import MAX_DEPTH
from .change import Change, Operation
from .hook import install
from .table_handlers import Handler, handlers, register, trigger, unregister
from .trigger_ctx import TriggerCtx

__all__ = [
    "MAX_DEPTH",
    "Change",
    "Handler",
    "Operation",
    "TriggerCtx",
    "handlers",
    "register",
    "trigger",
    "unregister",
]

install()
