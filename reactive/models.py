"""reactive's own models, and `ReactiveModel`, an abstract base that gives `_creationTime`.

Any model can be a table (see `reactive.db.tables.table`); subclassing `ReactiveModel` adds a
`creation_time` column (float ms since the epoch, indexed), which becomes the document's
`_creationTime` and the last key of every index, as in Convex.
"""

from __future__ import annotations

import time

from django.db import models


def now_ms() -> float:
    return time.time() * 1000.0


class ReactiveModel(models.Model):
    creation_time = models.FloatField(default=now_ms, editable=False, db_index=True)

    class Meta:
        abstract = True


class Listener(models.Model):
    """A process's change listener and the snapshot it has read up to (for log pruning)."""

    id = models.UUIDField(primary_key=True)
    snapshot = models.TextField()
    heartbeat = models.DateTimeField()

    class Meta:
        db_table = "reactive_listener"


class MutationResult(models.Model):
    """The response of a WebSocket mutation, stored in its own transaction, so that a mutation
    re-sent after a reconnect (same session and request id) is answered, not run again."""

    id = models.BigAutoField(primary_key=True)
    session_id = models.CharField(max_length=64)
    request_id = models.BigIntegerField()
    response = models.JSONField()
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "reactive_mutation_result"
        constraints = [models.UniqueConstraint(fields=["session_id", "request_id"],
                                               name="reactive_mutation_once")]
