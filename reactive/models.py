"""reactive's own models, and `ReactiveModel`, an abstract base that gives `_creationTime`.

Any model can be a table (see `reactive.db.tables.table`); subclassing `ReactiveModel` adds a
`creation_time` column (float ms since the epoch, indexed), which becomes the document's
`_creationTime` and the last key of every index, as in Convex.
"""

from __future__ import annotations

from django.db import models

from .clock import now_ms
from .scheduler.states import State


class ReactiveModel(models.Model):
    creation_time = models.FloatField(default=now_ms, editable=False, db_index=True)

    class Meta:
        abstract = True


class ListenerHeartbeat(models.Model):
    """A live `sync.listener.Listener` (one per process) and the snapshot it has read up to, renewed
    by its heartbeat (for log pruning: rows some live listener may still need are kept)."""

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
        constraints = [
            models.UniqueConstraint(
                fields=["session_id", "request_id"], name="reactive_mutation_once"
            )
        ]


class ScheduledFunction(models.Model):
    """One scheduled function call: a row of the `_scheduled_functions` system table.

    Written in the scheduling mutation's own transaction, together with the procrastinate job
    that will run it, so a mutation that rolls back schedules nothing. The worker moves it from
    pending to success or failed (a mutation: inside the mutation's transaction) or, for an
    action, through inProgress first; ``cancel`` moves a pending one to canceled.
    """

    State = State

    id = models.BigAutoField(primary_key=True)
    creation_time = models.FloatField(default=now_ms, editable=False, db_index=True)
    name = models.CharField(max_length=255, help_text="The function's path, e.g. chat:send.")
    args = models.JSONField(help_text="The arguments, Convex-encoded.")
    kind = models.CharField(max_length=8, editable=False)
    scheduled_time = models.FloatField(help_text="When it is due, in ms since the epoch.")
    completed_time = models.FloatField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True, default="")
    attempts = models.IntegerField(
        default=0,
        help_text="Runs started (a mutation retries "
        "transient failures; an action runs at most once).",
    )
    job_id = models.BigIntegerField(null=True, blank=True, help_text="The procrastinate job.")
    cron = models.CharField(
        max_length=255,
        blank=True,
        default="",
        db_index=True,
        help_text="The cron that scheduled it, if any.",
    )
    origin = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=True,
        help_text="The scheduled function that scheduled this one.",
    )

    class Meta:
        db_table = "reactive_scheduled_function"
        verbose_name = "scheduled function"
        indexes = [models.Index(fields=["state", "scheduled_time"], name="reactive_sched_due")]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"


class CronRun(models.Model):
    """A cron declared in code (`CronJobs`), as last registered by a worker, and its runs."""

    name = models.CharField(max_length=255, primary_key=True)
    function = models.CharField(max_length=255)
    args = models.JSONField(default=dict)
    schedule = models.CharField(max_length=255, help_text="The schedule, as declared.")
    next_run = models.FloatField(help_text="When it next runs, in ms since the epoch.")
    last_run = models.FloatField(null=True, blank=True)
    last_scheduled = models.ForeignKey(
        ScheduledFunction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skipped = models.IntegerField(
        default=0, help_text="Runs skipped because the previous one had not finished."
    )
    paused = models.BooleanField(
        default=False, help_text="A paused cron does not run on its schedule until resumed."
    )

    class Meta:
        db_table = "reactive_cron"
        verbose_name = "cron job"

    def __str__(self) -> str:
        return self.name


class RateLimitState(models.Model):
    """One shard of one key of a rate limit (`reactive.ratelimit`): its tokens and their time.

    Read and written by `RateLimiter` through the calling mutation's transaction, so a mutation
    that rolls back spends nothing. Not a registered table: its changes are not captured, and a
    query that calls ``check`` does not re-run when it changes.
    """

    id = models.BigAutoField(primary_key=True)
    name = models.TextField()
    key = models.TextField()  # "" for a limit without a key (one global limit)
    shard = models.IntegerField()
    value = models.FloatField()
    ts = models.FloatField()  # ms since the epoch: a bucket's last update, a window's start

    class Meta:
        db_table = "reactive_rate_limit"
        constraints = [
            models.UniqueConstraint(
                fields=["name", "key", "shard"], name="reactive_rate_limit_shard"
            )
        ]


class StoredFile(models.Model):
    """One stored file: a row of the `_storage` system table; its bytes are in a Django storage.

    ``name`` is the file's name in that storage (``REACTIVE["STORAGE"]["storage"]``), never shown
    in documents. A row exists only once its bytes are fully written; deleting the row (from a
    mutation) deletes the bytes once the transaction commits (`reactive.storage`).
    """

    id = models.BigAutoField(primary_key=True)
    creation_time = models.FloatField(default=now_ms, editable=False, db_index=True)
    sha256 = models.CharField(max_length=44, help_text="The SHA-256 of the bytes, base64.")
    size = models.BigIntegerField(help_text="In bytes.")
    content_type = models.CharField(max_length=255, null=True, blank=True)
    name = models.CharField(max_length=255, unique=True, help_text="The name in the storage.")

    class Meta:
        db_table = "reactive_stored_file"
        verbose_name = "stored file"

    def __str__(self) -> str:
        return f"{self.name} ({self.size} bytes)"


class UploadToken(models.Model):
    """An upload URL's token, once used: its primary key makes each URL good for one upload.

    Inserted in the transaction that inserts the file's `StoredFile` row, so of two uploads
    racing with one URL exactly one commits. Rows past ``expires`` are pruned by later uploads.
    """

    nonce = models.CharField(max_length=64, primary_key=True)
    expires = models.FloatField(db_index=True, help_text="When the URL expires, ms since epoch.")

    class Meta:
        db_table = "reactive_upload_token"


class TableOverview(models.Model):
    """No rows and no database table: the admin's "Tables" page hangs off it
    (`reactive.admin.table_list`), so the page is listed under Reactive and guarded by the ordinary
    view permission (``reactive.view_tableoverview``)."""

    class Meta:
        managed = False
        db_table = "reactive_table_overview"
        verbose_name = "table"
        verbose_name_plural = "tables"
        default_permissions = ("view",)


class FunctionOverview(models.Model):
    """No rows and no database table, like `TableOverview`: the admin's function browser
    (`reactive.admin.functions`) hangs off it. ``view_functionoverview`` lets staff browse the
    public functions, ``run_function`` run them as a chosen user; internal functions and HTTP
    actions are for superusers only."""

    class Meta:
        managed = False
        db_table = "reactive_function_overview"
        verbose_name = "function"
        verbose_name_plural = "functions"
        default_permissions = ("view",)
        permissions = [("run_function", "Can run public functions from the admin")]


class FunctionStat(models.Model):
    """One function's calls in one minute, summed over what every process flushed
    (`reactive.observe`); the admin's "Activity" page reads them."""

    id = models.BigAutoField(primary_key=True)
    path = models.CharField(max_length=255)
    minute = models.BigIntegerField(help_text="Minutes since the epoch.")
    calls = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    retries = models.BigIntegerField(default=0, help_text="Attempts beyond the first.")
    conflicts = models.BigIntegerField(default=0, help_text="Calls that failed on a conflict.")
    total_ms = models.FloatField(default=0.0)
    max_ms = models.FloatField(default=0.0)
    reads = models.BigIntegerField(default=0, help_text="Read set entries, summed.")
    writes = models.BigIntegerField(default=0, help_text="Documents written, summed.")

    class Meta:
        db_table = "reactive_function_stat"
        verbose_name = "activity"
        verbose_name_plural = "activity"
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["path", "minute"], name="reactive_function_stat_once")
        ]
        indexes = [models.Index(fields=["minute"], name="reactive_function_stat_minute")]


class ConflictEvent(models.Model):
    """A call that was retried or failed on a write conflict (the newest ones only)."""

    id = models.BigAutoField(primary_key=True)
    time = models.FloatField(help_text="When the call ended, in ms since the epoch.")
    path = models.CharField(max_length=255)
    attempts = models.IntegerField()
    error = models.TextField(blank=True, default="")
    process = models.CharField(max_length=255)

    class Meta:
        db_table = "reactive_conflict_event"
        default_permissions = ()


class ProcessSubscriptions(models.Model):
    """One process's live subscriptions per function path, renewed by its flush; a row whose
    ``expires`` has passed belongs to a process that stopped and is ignored (then deleted)."""

    process = models.CharField(max_length=255, primary_key=True)
    counts = models.JSONField(default=dict)
    heartbeat = models.FloatField(help_text="ms since the epoch")
    expires = models.FloatField(help_text="ms since the epoch")

    class Meta:
        db_table = "reactive_process_subscriptions"
        default_permissions = ()
