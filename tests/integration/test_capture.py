"""Change capture: triggers are in the apps' migrations, follow the indexes, and the log is
read by visibility and pruned."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import isolate_apps

from reactive.capture import build_trigger, key_columns
from reactive.db.tables import Table, tables
from reactive.sync import changes
from reactive.sync.changes import read_changes
from tests.testapp.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_migrations_already_hold_the_capture_triggers():
    out = StringIO()
    call_command("makemigrations", "testapp", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'testapp_message'::regclass"
                       " AND NOT tgisinternal")
        assert [row[0] for row in cursor.fetchall()] == ["pgtrigger_reactive_changes_d7a49"]


@isolate_apps("tests.testapp")
def test_adding_an_index_changes_the_trigger():
    class Audit(models.Model):
        kind = models.CharField(max_length=10)
        level = models.IntegerField()

        class Meta:
            app_label = "testapp"
            managed = False

    before = Table("audits", Audit, None, b"xyz")
    assert key_columns(before) == ["id"]

    class AuditIndexed(models.Model):
        kind = models.CharField(max_length=10)
        level = models.IntegerField()

        class Meta:
            app_label = "testapp"
            managed = False
            indexes = [models.Index(fields=["level"], name="by_level")]

    after = Table("audits", AuditIndexed, None, b"xyz")
    assert key_columns(after) == ["id", "level"]
    assert build_trigger(before).func != build_trigger(after).func


def test_changes_are_read_by_visibility_and_pruned():
    # Any live server's listener prunes rows every live listener has passed; register as a
    # listener at our snapshot, as a server process does, so our rows are kept until we pass.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        (before,) = cursor.fetchone()
    changes.heartbeat("default", "00000000-0000-0000-0000-00000000cafe", before)
    try:
        channel = Channel.objects.create(name="captured")
        Message.objects.create(channel=channel, author="a", body="x")
        Message.objects.filter(channel=channel).update(score=5)
        writes = read_changes("default", before)
        assert [(w.table, w.op) for w in writes] == [
            ("channels", "insert"), ("messages", "insert"), ("messages", "update")]
        update = writes[-1]
        assert update.old["score"] == 0 and update.new["score"] == 5
        assert update.new["channel_id"] == channel.pk
        changes.prune("default", stale_seconds=60, retention_seconds=3600)
        assert len(read_changes("default", before)) == 3  # a live listener still needs them
        # with no live listener (every heartbeat older than stale_seconds), the retention rules
        changes.prune("default", stale_seconds=0, retention_seconds=0)
        assert read_changes("default", before) == []
    finally:
        changes.forget("default", "00000000-0000-0000-0000-00000000cafe")


def test_unknown_tables_in_the_log_are_whole_table_writes():
    from reactive.sync.changes import to_write

    write = to_write("not_registered_here", "U", None, None)
    assert write.whole_table
    assert tables.find("not_registered_here") is None
