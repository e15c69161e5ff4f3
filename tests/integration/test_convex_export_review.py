"""manage.py reactive import of Convex export ZIPs as a real deployment's data and a crafted ZIP
give them: members named twice, a line too long to hold, a table missing from `_tables`, stored
files without their metadata line, ids of documents deleted in Convex, and a large import
written in batches with every row still named on failure."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import warnings
import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from reactive import ids
from reactive.changelog import changes
from reactive.changelog.changes import read_changes
from reactive.models import StoredFile
from reactive.snapshot import archive
from reactive.storage import files
from tests.integration.test_convex_export import (
    ICON,
    STORAGE_NUMBER,
    Ids,
    _refused,
    cli,
    convex_id,
    members,
    stored_files,
    write_zip,
)
from tests.testapp.models import Channel, Folder, Message

pytestmark = pytest.mark.django_db(transaction=True)


def jsonl(*docs: dict[str, Any]) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


def test_a_member_named_twice_is_refused(tmp_path: Path) -> None:
    # ZipFile.open reads the last of two members with one name: a reviewer's unzip shows the
    # first, the import would have taken the second
    path = write_zip(tmp_path / "convex.zip", members(Ids()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        with zipfile.ZipFile(path, "a") as z:
            z.writestr("channels/documents.jsonl", jsonl({"_id": convex_id(10001), "name": "x"}))
    line = _refused(tmp_path, path.read_bytes())
    assert line == f"{path} holds channels/documents.jsonl twice: a ZIP must name a member once"


def test_a_line_too_long_is_refused_without_being_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "MAX_LINE", 2**20)  # the same code path, at 1 MiB
    good = members(Ids())
    huge = '{"name": "' + "a" * (3 * 2**20) + '"}\n'
    content = {**good, "channels/documents.jsonl": str(good["channels/documents.jsonl"]) + huge}
    line = _refused(tmp_path, content)
    assert line.endswith(
        "convex.zip:channels/documents.jsonl:3: longer than 1 MiB (no Convex document is)"
    )
    # the lines after it are read as before
    content["_tables/documents.jsonl"] = huge + str(good["_tables/documents.jsonl"])
    assert _refused(tmp_path, content).endswith(
        "convex.zip:_tables/documents.jsonl:1: longer than 1 MiB (no Convex document is)"
    )
    lines = list(archive.read_lines(io.BytesIO(b"ab\n" + b"x" * (2**20 + 5) + b"\ncd")))
    assert lines == [b"ab\n", None, b"cd"]


def test_a_table_missing_from_tables_is_imported_as_convex_does(tmp_path: Path) -> None:
    # Convex's import reads every <table>/documents.jsonl, whether _tables lists it or not
    good = members(Ids())
    listed = [json.loads(x) for x in str(good["_tables/documents.jsonl"]).splitlines()]
    good["_tables/documents.jsonl"] = jsonl(*(t for t in listed if t["name"] != "channels"))
    out = cli("import", str(write_zip(tmp_path / "convex.zip", good)))
    assert "channels: 2" in out and "messages: 2" in out
    assert Message.objects.get(body="hello").channel.name == "general"


def test_ids_of_documents_deleted_in_convex_stay_ids_naming_nothing(tmp_path: Path) -> None:
    # Convex's delete leaves the ids to a document as they were, so a real export holds ids
    # naming no document; convex-schema's models take them (foreign keys without a constraint)
    i = Ids()
    good = members(i)
    deleted_channel, deleted_file = convex_id(10001), convex_id(STORAGE_NUMBER)
    folders = str(good["folders/documents.jsonl"]).replace(
        '"related":[]', f'"related":["{deleted_channel}",{{"{deleted_channel}":1}}]'
    )
    good["folders/documents.jsonl"] = folders.replace(
        f'"icon":"{i.icon}"', f'"icon":"{deleted_file}"'
    )
    out = cli("import", str(write_zip(tmp_path / "convex.zip", good)))
    assert "folders: 2" in out

    root = Folder.objects.get(name="root")
    gone = root.related[0]
    assert root.related[1] == {gone: 1}  # each copy of the id the same id
    pk = ids.pk_of("channels", gone)
    assert pk is not None and not Channel.objects.filter(pk=pk).exists()
    assert Channel.objects.create(name="new").pk > pk  # no new document takes it
    file_pk = ids.pk_of("_storage", root.icon)
    assert file_pk is not None and not StoredFile.objects.filter(pk=file_pk).exists()
    assert StoredFile.objects.count() == 1  # the file the export has


def test_stored_files_without_their_metadata_line_are_imported_as_convex_does(
    tmp_path: Path,
) -> None:
    # Convex's import stores a _storage/<id> file whether or not _storage/documents.jsonl has
    # its line (npx convex export without the metadata, or a hand-made ZIP)
    i = Ids()
    good = members(i)
    del good["_storage/documents.jsonl"]
    out = cli("import", str(write_zip(tmp_path / "convex.zip", good)))
    assert "_storage: 1" in out
    root = Folder.objects.get(name="root")
    stored = StoredFile.objects.get(pk=ids.pk_of("_storage", root.icon))
    assert files.read_all(stored.name) == ICON and stored.content_type is None

    twice = {**good, f"_storage/{i.icon}.jpg": ICON}
    assert _refused(tmp_path, twice, "--replace").endswith(
        f"convex.zip:_storage/{i.icon}.jpg: a second file for _storage id {i.icon!r}"
    )
    named = {**good, "_storage/notes.txt": b"hi"}
    assert _refused(tmp_path, named, "--replace").endswith(
        "convex.zip:_storage/notes.txt: 'notes' (the file's name) is not a storage id"
    )


def _channels(count: int) -> dict[str, str | bytes]:
    docs = [
        {"_id": convex_id(10001), "_creationTime": 1.0 + k, "name": f"c{k}"} for k in range(count)
    ]
    return {
        "_tables/documents.jsonl": jsonl({"name": "channels", "id": 10001}),
        "channels/documents.jsonl": jsonl(*docs),
    }


def test_rows_are_written_in_batches_seen_by_the_capture_and_named_when_refused(
    tmp_path: Path,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        (before,) = cursor.fetchone()
    changes.heartbeat("default", "00000000-0000-0000-0000-0000000bea75", before)
    try:
        with CaptureQueriesContext(connection) as queries:
            cli("import", str(write_zip(tmp_path / "many.zip", _channels(1200))))
        inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "testapp_channel"')]
        assert len(inserts) == 3  # 500 rows a statement, not one round trip a row
        captured = [w for w in read_changes("default", before) if w.table == "channels"]
        assert len(captured) == 1200 and {w.op for w in captured} == {"insert"}
    finally:
        changes.forget("default", "00000000-0000-0000-0000-0000000bea75")
    assert Channel.objects.get(name="c1199").creation_time == 1200.0

    # a row the database refuses in the middle of a batch is still named by its line, and
    # nothing is written, the stored file neither
    clash = _channels(1200)
    clash["channels/documents.jsonl"] = str(clash["channels/documents.jsonl"]).replace(
        '"name": "c699"', '"name": "c3"'
    )
    i = Ids()
    clash.update({k: v for k, v in members(i).items() if k.startswith("_storage/")})
    line = _refused(tmp_path, clash, "--replace")
    assert "convex.zip:channels/documents.jsonl:700: duplicate key value" in line
    assert line.endswith("; nothing was imported")

    # a model with a save() receiver is written by save(), row by row, as before
    saved: list[str] = []

    def receiver(sender: type, instance: Channel, **kwargs: Any) -> None:
        saved.append(instance.name)

    post_save.connect(receiver, sender=Channel)
    try:
        cli("import", str(write_zip(tmp_path / "few.zip", _channels(3))), "--replace")
    finally:
        post_save.disconnect(receiver, sender=Channel)
    assert saved == ["c0", "c1", "c2"]


def test_replace_replaces_the_stored_files_and_an_import_into_files_needs_a_mode(
    tmp_path: Path,
) -> None:
    # a team re-runs the import of one Convex export with --replace: each run stored every
    # file again beside the last run's, whose rows and bytes no document named any more
    path = write_zip(tmp_path / "convex.zip", members(Ids()))
    before = set(stored_files())  # other tests' files
    cli("import", str(path))
    first = StoredFile.objects.get()
    cli("import", str(path), "--replace")
    again = StoredFile.objects.get()  # one file, as Convex's --replace leaves it
    assert set(stored_files()) - before == {again.name.rsplit("/", 1)[-1]}
    assert again.name != first.name
    icon = Folder.objects.get(name="root").icon
    assert ids.pk_of("_storage", icon) == again.pk and files.read_all(again.name) == ICON

    # our own backup restored with --replace keeps a file it still has (same key, same bytes)
    cli("export", str(tmp_path / "ours.zip"))
    cli("import", str(tmp_path / "ours.zip"), "--replace")
    assert StoredFile.objects.get().name == again.name

    # without a mode, stored files there refuse the import, as any table with rows does
    for model in (Folder, Message, Channel):
        model.objects.all().delete()
    line = _refused(tmp_path, members(Ids()))
    assert line == (
        "table '_storage' is not empty (1 files): pass --append to add the export's files to "
        "them or --replace to replace them"
    )


def test_a_bom_and_crlf_line_ends_are_read_in_every_member(tmp_path: Path) -> None:
    # a ZIP rebuilt on Windows: each file starts with a BOM and its lines end with CRLF
    good = members(Ids())
    for name, value in list(good.items()):
        if name.endswith(".jsonl"):
            good[name] = "\ufeff" + str(value).replace("\n", "\r\n")
    out = cli("import", str(write_zip(tmp_path / "convex.zip", good)))
    assert "channels: 2" in out and "folders: 2" in out and "_storage: 1" in out


def test_a_snapshot_zipped_again_inside_a_folder_is_read(tmp_path: Path) -> None:
    # unzipped to look at it, then compressed again by a file manager: every member sits in
    # one folder, beside __MACOSX/ (Convex's import reads a snapshot under any such prefix)
    good = members(Ids())
    again = {f"convex-export/{name}": value for name, value in good.items()}
    again["__MACOSX/convex-export/._README.md"] = b"\x00\x05\x16\x07"
    out = cli("import", str(write_zip(tmp_path / "again.zip", again)))
    assert "channels: 2" in out and "folders: 2" in out and "_storage: 1" in out


def test_an_import_killed_while_writing_rows_leaves_no_stored_file(tmp_path: Path) -> None:
    # the process is killed (SIGKILL: nothing of its own runs) while it inserts rows, held there
    # by a lock: its transaction is rolled back, and no stored file's bytes may be left behind
    path = write_zip(tmp_path / "convex.zip", members(Ids()))
    before = set(stored_files())
    env = {**os.environ, "REACTIVE_LIVE_DB_NAME": connection.settings_dict["NAME"]}
    command = [sys.executable, "-m", "django", "reactive", "import", str(path), "--no-progress"]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE testapp_channel IN SHARE MODE")  # reads pass, inserts wait
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not _waiting_insert(cursor):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            process.kill()
            process.wait()
    assert set(stored_files()) == before
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while _waiting_insert(cursor, any_state=True):  # its server process ends too
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert not Channel.objects.exists() and not StoredFile.objects.exists()


def _waiting_insert(cursor: Any, any_state: bool = False) -> bool:
    cursor.execute("SELECT pg_stat_clear_snapshot()")  # else one snapshot per transaction
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO \"testapp_channel\"%%'"
        " AND pid <> pg_backend_pid()" + ("" if any_state else " AND wait_event_type = 'Lock'")
    )
    return bool(cursor.fetchone()[0])


def test_each_table_s_progress_bar_is_finished_before_the_next_starts(tmp_path: Path) -> None:
    # all bars were left open to the end: tqdm drew each below the last with cursor moves
    # (ESC [A), which a log or CI output shows as they are, and each bar stayed at 0% there
    out, err = StringIO(), StringIO()
    path = write_zip(tmp_path / "convex.zip", members(Ids()))
    call_command("reactive", "import", str(path), stdout=out, stderr=err)
    assert "\x1b[A" not in err.getvalue()
    finished = [line for line in err.getvalue().split("\n") if "100%" in line]
    assert [line.rsplit("\r", 1)[-1].split(":")[0] for line in finished] == [
        "channels",
        "messages",
        "folders",
        "_storage",
    ]
    assert out.getvalue().startswith("imported 4 table(s), 7 document(s)")
