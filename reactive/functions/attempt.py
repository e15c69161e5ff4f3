"""One attempt of a top-level query or mutation: the body the retry loop runs, returning the
call's `Outcome`.

`Attempt` is what `transactions.retry.run_in_transaction` calls, once per try, inside the
transaction: answer a re-sent mutation from its receipt, or ask the scheduler's guard whether to
run at all; then push a fresh `Frame`, build the ctx, run the handler under the network guard
and the two SQL watchers (errors user code swallowed; reads that bypass ``ctx.db``), check and
encode the result, and leave the mutation's receipt. It returns a new `Outcome` only when the
body succeeded; one that raised leaves nothing but its reads (`Attempt.reads`), which a failed
call reports. Retrying, isolation and what happens after COMMIT are the executor's.
"""

from __future__ import annotations

import random
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.db import connections

from .. import clock
from ..auth import Identity
from ..conf import reactive_settings
from ..db import row_cache
from ..db.raw_reads import recording
from ..limits import Budget
from ..readset import ReadSet, WriteSet
from . import ledger, network_guard
from .failures import call_handler, raise_if_aborted, watching
from .frames import Caller, Frame, make_ctx, pushed
from .outcome import CallOptions, Outcome
from .registry import AnyFunction, Isolation, Kind, validate_result


class Attempt:
    """Run ``fn(**kwargs)`` once per call of the instance (``attempt(n)``, n counting from 1)."""

    def __init__(
        self,
        fn: AnyFunction,
        path: str,
        kwargs: dict[str, Any],
        identity: Identity | None,
        using: str,
        options: CallOptions,
        caller: Caller,
    ) -> None:
        self.fn, self.path, self.kwargs = fn, path, kwargs
        self.identity, self.using, self.options, self.caller = identity, using, options, caller
        self.is_mutation = fn.kind is Kind.MUTATION
        self.lock_rows = self.is_mutation and fn.isolation is Isolation.SELECT_FOR_UPDATE
        self.seed = random.getrandbits(64)  # once per call: every attempt sees one ctx.random
        #: The reads of the last attempt, kept if it fails: the call's error depends on them.
        self.reads: ReadSet | None = None
        #: The number of the last attempt begun (0: none), reported if the call fails.
        self.number = 0

    def __call__(self, n: int) -> Outcome:
        self.number = n
        if n > 1:
            ledger.retrying(self.options)
        if self.is_mutation:
            replayed = ledger.replay(self.using, self.path, self.options)
            if replayed is not None:  # a re-sent mutation: answer, do not run again
                return replayed
        guard = self.options.guard
        if guard is not None and not guard.before(self.using):
            return Outcome(path=self.path, kind=self.fn.kind, skipped=True)
        frame = self._frame()
        self.reads = frame.reads
        value, encoded = validate_result(self.fn, self.path, self._run_handler(frame))
        # (still inside the transaction: a bad result rolls the writes back)
        outcome = Outcome(
            path=self.path,
            kind=self.fn.kind,
            value=value,
            encoded=encoded,
            reads=frame.reads,
            writes=frame.writes,
            journal=frame.reader.page_journal if frame.reader is not None else None,
        )
        if guard is not None:
            guard.after(self.using, outcome)
        if self.is_mutation:
            outcome.xid = ledger.record(self.using, self.options, outcome.encoded)
        return outcome

    def _frame(self) -> Frame:
        limits = reactive_settings.LIMITS
        return Frame(
            self.fn.kind,
            Budget(self.path, limits, limits.function_seconds),
            ReadSet(),
            WriteSet() if self.is_mutation else None,
            self.lock_rows,
            clock.now_ms(),
            self.seed,
            journal=self.options.journal,
        )

    def _run_handler(self, frame: Frame) -> Any:
        failures: list[Exception] = []
        connection = connections[self.using]
        # reads that bypass ctx.db (ORM, raw SQL) record whole-table reads: see db/raw_reads
        # a mutation's rows read through ctx.db are not read again to be written: db/row_cache
        cache: AbstractContextManager[Any] = (
            row_cache.caching(self.using) if self.is_mutation else nullcontext()
        )
        with (
            pushed(frame),
            network_guard.no_network(self.path, self.fn.kind.value),
            connection.execute_wrapper(frame.budget.timing),
            connection.execute_wrapper(watching(failures)),
            connection.execute_wrapper(recording(frame.reads)),
            cache,
        ):
            ctx = make_ctx(self.fn, self.path, frame, self.identity, self.using, self.caller)
            value = call_handler(self.fn, ctx, self.kwargs)
            frame.budget.check_time()
        raise_if_aborted(self.using, failures)
        return value
