"""Change capture: triggers are in the apps' migrations, follow the indexes, and the log is
read by visibility and pruned."""

from __future__ import annotations

import ast
from io import StringIO
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.db import connection, models, transaction
from django.test.utils import isolate_apps

from reactive.changelog import changes
from reactive.changelog.changes import read_changes
from reactive.changelog.triggers import (
    TRIGGER_NAME,
    TRUNCATE_TRIGGER_NAME,
    build_trigger,
    key_columns,
)
from reactive.db import tables as tables_module
from reactive.db.tables import Table, tables
from tests.testapp.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_migrations_already_hold_the_capture_triggers():
    out = StringIO()
    call_command("makemigrations", "testapp", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'testapp_message'::regclass"
            " AND NOT tgisinternal ORDER BY tgname"
        )
        assert [row[0] for row in cursor.fetchall()] == [
            "pgtrigger_reactive_changes_d7a49",
            "pgtrigger_reactive_truncate_ca9da",
        ]


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


def test_tables_registered_after_start_up_get_their_triggers():
    # the change log follows the table registry from ReactiveConfig.ready(); a table registered
    # later (as tests and run-time register_table calls do) is declared on the spot
    with isolate_apps("tests.testapp"):

        class Late(models.Model):
            level = models.IntegerField()

            class Meta:
                app_label = "testapp"
                managed = False
                indexes = [models.Index(fields=["level"], name="late_by_level")]

        table = tables.register(Late, "late")
        try:
            assert [t.name for t in Late._meta.triggers] == [TRIGGER_NAME, TRUNCATE_TRIGGER_NAME]
            assert Late._meta.triggers[0].func == build_trigger(table).func
        finally:
            tables.unregister("late")
        assert Late._meta.triggers == []


def test_the_table_registry_does_not_import_the_change_log():
    # db/tables.py is the lower layer: the change log reads it, never the other way
    tree = ast.parse(Path(tables_module.__file__).read_text())
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
        elif isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
    assert imported and not [name for name in imported if "changelog" in name], imported


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
            ("channels", "insert"),
            ("messages", "insert"),
            ("messages", "update"),
        ]
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
    from reactive.changelog.changes import to_write

    write = to_write("not_registered_here", "U", None, None)
    assert write.whole_table
    assert tables.find("not_registered_here") is None


def test_truncate_is_logged_as_a_whole_table_write():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        (before,) = cursor.fetchone()
    changes.heartbeat("default", "00000000-0000-0000-0000-00000000beef", before)
    try:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE testapp_note")
            # empties testapp_message and testapp_folder (foreign keys to channels) too
            cursor.execute("TRUNCATE testapp_channel CASCADE")
        writes = read_changes("default", before)
        assert writes[0].table == "notes"
        assert {w.table for w in writes} == {"notes", "channels", "messages", "folders"}
        assert all(w.whole_table and w.pk is None for w in writes) and len(writes) == 4
    finally:
        changes.forget("default", "00000000-0000-0000-0000-00000000beef")


def test_a_proxy_in_the_project_carries_a_package_models_triggers():
    # tests/testapp registers auth.User through its proxy AppUser: the triggers are declared on
    # the proxy, so makemigrations writes them into testapp (checked above), none into auth
    from django.contrib.auth.models import User

    out = StringIO()
    call_command("makemigrations", "auth", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
    assert tables.for_model(User) is tables.get("users")  # foreign keys and cascades name User
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'auth_user'::regclass"
            " AND tgname LIKE 'pgtrigger_reactive_%%'"
        )
        assert cursor.fetchone() == (2,)


def test_registering_a_package_model_writes_no_migration_into_the_package():
    from django.contrib.auth.models import Group

    from reactive import register_table

    register_table(Group, "groups")
    try:
        out = StringIO()
        call_command("makemigrations", "auth", "--check", "--dry-run", stdout=out)
        assert "No changes detected" in out.getvalue()
        (warning,) = [m for m in checks.run_checks() if m.id == "reactive.W010"]
        assert "'groups' is auth.Group" in warning.msg and "proxy" in warning.hint
    finally:
        tables.unregister("groups")
    assert not [m for m in checks.run_checks() if m.id == "reactive.W010"]


def capture_warnings() -> list[str]:
    return [
        m.msg
        for m in checks.run_checks(databases=["default"], tags=["database"])
        if m.id == "reactive.W009"
    ]


def test_the_database_check_reports_missing_outdated_and_disabled_triggers():
    assert capture_warnings() == []
    # without databases (plain `manage.py check`), the database is not touched
    assert not [m for m in checks.run_checks() if m.id == "reactive.W009"]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER pgtrigger_reactive_changes_d7a49 ON testapp_message")
            cursor.execute(
                "COMMENT ON TRIGGER pgtrigger_reactive_truncate_487eb ON testapp_note IS 'stale'"
            )
            cursor.execute("ALTER TABLE auth_user DISABLE TRIGGER ALL")
        found = capture_warnings()
        hints = [
            m.hint
            for m in checks.run_checks(databases=["default"], tags=["database"])
            if m.id == "reactive.W009" and "not installed" in m.msg
        ]
        transaction.set_rollback(True)
    # a dropped trigger: migrate has nothing to apply, so the hint names what re-creates it
    assert len(hints) == 1 and "manage.py pgtrigger install testapp.Message:" in hints[0], hints
    assert sorted(found) == sorted(
        [
            "Table 'messages': trigger 'reactive_changes' on 'testapp_message' is not installed in "
            "database 'default', so inserts, updates and deletes reach no subscriber.",
            "Table 'notes': trigger 'reactive_truncate' on 'testapp_note' is outdated in database "
            "'default', so it differs from the one the table declares and some writes may reach no "
            "subscriber.",
            "Table 'users': trigger 'reactive_changes' on 'auth_user' is disabled in database "
            "'default', so inserts, updates and deletes reach no subscriber.",
            "Table 'users': trigger 'reactive_truncate' on 'auth_user' is disabled in database "
            "'default', so TRUNCATE and `manage.py flush` reach no subscriber.",
        ]
    )
    assert capture_warnings() == []
