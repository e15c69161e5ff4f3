"""The signals the executor sends. Django signals: connect a receiver, the executor sends.

`mutation_committed` is sent after each top-level mutation's COMMIT returned (not for a nested
`ctx.run_mutation`, which commits with its caller, nor for a reconnecting client's re-sent
mutation answered from its stored response). Arguments: ``sender`` is always ``None`` (the
executor is the only sender) and ``outcome`` is the mutation's `Outcome` (its ``writes`` say what
it wrote). It is sent in the mutation's own thread, a worker thread of the server: a receiver must
be thread-safe and quick (the sync engine's receivers hand the wake-up to their event loop with
``call_soon_threadsafe``). An exception in a receiver reaches the caller of ``execute()``.
Whether anyone is connected also matters: with a receiver connected (a listener in this process
announcing commits itself), mutations skip the NOTIFY when ``notify_executor_writes`` is off.
"""

from __future__ import annotations

from django.dispatch import Signal

mutation_committed = Signal()
