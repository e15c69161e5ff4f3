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
