"""The states a scheduled function moves through (its `_scheduled_functions` ``state.kind``).

Its own module, importable before Django's app registry is ready, so the scheduler's modules
can name states at import time; `ScheduledFunction.State` is this enum.
"""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    PENDING = "pending"
    IN_PROGRESS = "inProgress"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"


UNFINISHED = (State.PENDING, State.IN_PROGRESS)
FINISHED = (State.SUCCESS, State.FAILED, State.CANCELED)
