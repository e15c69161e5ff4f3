"""manage.py reactive export / import: Convex's snapshot layout, a round trip through the
models, bad lines reported by file and line with nothing written, and the progress bar."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from reactive import ids
from reactive.snapshot import convex_ids
from tests.testapp.models import Channel, Message, Note

pytestmark = pytest.mark.django_db(transaction=True)


def cli(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reactive", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def documents() -> list[dict[str, object]]:
    from reactive.db.documents import to_document
    from reactive.db.tables import tables
    from reactive.values import encode

    found = []
    for name, model in (("channels", Channel), ("messages", Message)):
        table = tables.get(name)
        found += [encode(to_document(table, o)) for o in model.objects.order_by("pk")]
    return found


def seed() -> None:
    general = Channel.objects.create(name="general", topic="hello")
    other = Channel.objects.create(name="other")
    Message.objects.create(channel=general, author="a", body="hi", big=2**62, payload=b"\x00\xff")
    Message.objects.create(channel=other, author="b", body="ünï", rating=1.5, score=-3)


def test_round_trip_through_a_zip(tmp_path: Path) -> None:
    seed()
    before = documents()
    out, err = cli(
        "export", str(tmp_path / "snap.zip"), "--table", "channels", "--table", "messages"
    )
    assert "exported 2 table(s), 4 document(s)" in out
    with zipfile.ZipFile(tmp_path / "snap.zip") as z:
        assert sorted(z.namelist()) == [
            "README.md",
            "_tables/documents.jsonl",
            "channels/documents.jsonl",
            "channels/generated_schema.jsonl",
            "messages/documents.jsonl",
            "messages/generated_schema.jsonl",
        ]
        listed = [json.loads(x) for x in z.read("_tables/documents.jsonl").splitlines()]
        first = json.loads(z.read("messages/documents.jsonl").splitlines()[0])
    assert [t["name"] for t in listed] == ["channels", "messages"]
    # Convex's export JSON ("uniform"): an int64 as a JSON integer, a float64 with a dot,
    # bytes tagged
    assert first["big"] == 2**62 and first["payload"] == {"$bytes": "AP8="}
    with zipfile.ZipFile(tmp_path / "snap.zip") as z:
        assert b'"score": 0.0' in z.read("messages/documents.jsonl").splitlines()[0]
        assert z.read("messages/generated_schema.jsonl") == b'"uniform"\n'
    # ids as Convex ids of the tables' numbers, carrying the keys
    channel = convex_ids.decode(first["channel"])
    assert channel is not None and channel[0] == 10001
    assert convex_ids.pk_from_internal(channel[1], True) == Message.objects.first().channel_id
    assert isinstance(first["_creationTime"], float) and "_id" in first

    with pytest.raises(CommandError, match="'channels' is not empty .*--append.*--replace"):
        cli("import", str(tmp_path / "snap.zip"))
    Channel.objects.all().delete()  # cascades to the messages
    out, _ = cli("import", str(tmp_path / "snap.zip"))
    assert "imported 2 table(s), 4 document(s)" in out
    assert documents() == before  # same ids, creation times and fields
    # the id sequences moved past the imported ids: a new row gets a new id
    assert Channel.objects.create(name="new").pk > max(c.pk for c in Channel.objects.all()[:2])

    out, _ = cli("import", str(tmp_path / "snap.zip"), "--table", "messages", "--replace")
    assert "imported 1 table(s), 2 document(s)" in out and Message.objects.count() == 2


def test_one_table_from_a_jsonl_file_with_append_and_a_folder_export(tmp_path: Path) -> None:
    seed()
    cli("export", str(tmp_path / "dir"), "--table", "channels")
    assert (tmp_path / "dir" / "channels" / "documents.jsonl").is_file()
    lines = tmp_path / "channels.jsonl"
    lines.write_text('{"name": "third", "topic": "t"}\n\n{"name": "fourth"}\n')
    out, _ = cli("import", str(lines), "--table", "channels", "--append")
    assert "imported 1 table(s), 2 document(s)" in out
    assert sorted(Channel.objects.values_list("name", flat=True)) == [
        "fourth",
        "general",
        "other",
        "third",
    ]
    with pytest.raises(CommandError, match="exactly one"):
        cli("import", str(lines))
    with pytest.raises(CommandError, match="no table 'nope'"):
        cli("import", str(lines), "--table", "nope")
    with pytest.raises(CommandError, match="already exists"):
        cli("export", str(tmp_path / "dir"))


def test_bad_lines_are_all_reported_and_nothing_is_imported(tmp_path: Path) -> None:
    general = Channel.objects.create(name="general")
    gid = ids.encode_id("channels", general.pk)
    lines = tmp_path / "messages.jsonl"
    good = {"channel": gid, "author": "a", "body": "ok"}
    lines.write_text(
        "\n".join(
            [
                json.dumps(good),
                "{not json",
                json.dumps({**good, "score": "many"}),
                json.dumps({**good, "nope": 1}),
                json.dumps({**good, "channel": "garbage"}),
                "[1, 2]",
                json.dumps(good),
                json.dumps({**good, "_creationTime": "yesterday"}),
                json.dumps({**good, "_creationTime": True}),
            ]
        )
    )
    with pytest.raises(CommandError) as info:
        cli("import", str(lines), "--table", "messages")
    message = str(info.value)
    assert "7 bad line(s); nothing was imported" in message
    for number in (8, 9):  # not silently "now"
        assert f"messages.jsonl:{number}: `_creationTime` must be a number (ms)" in message
    for number, what in ((2, "not JSON"), (3, "`score`"), (4, "no field `nope`"), (6, "object")):
        assert f"messages.jsonl:{number}: " in message and what in message
    assert "messages.jsonl:5: " in message and "garbage" in message
    assert not Message.objects.exists()
    # a row the database refuses (a duplicate _id) rolls everything back
    doc = {**good, "_id": ids.encode_id("messages", 999)}
    lines.write_text(json.dumps(good) + "\n" + json.dumps(doc) + "\n" + json.dumps(doc) + "\n")
    with pytest.raises(CommandError, match=r"messages.jsonl:3: .*nothing was imported"):
        cli("import", str(lines), "--table", "messages")
    assert not Message.objects.exists()


def test_progress_bar_and_summary(tmp_path: Path) -> None:
    seed()
    out, err = cli("export", str(tmp_path / "s.zip"), "--table", "messages")
    assert "messages: 100%" in err and "2/2" in err and "rows" in err
    assert "exported 1 table(s), 2 document(s) to" in out and " s\n" in out
    assert "  messages: 2" in out
    out, err = cli("import", str(tmp_path / "s.zip"), "--replace", "--no-progress")
    assert err == "" and "imported 1 table(s), 2 document(s)" in out


def test_auto_now_add_creation_times_and_odd_floats_survive_a_round_trip(tmp_path: Path) -> None:
    """`save()` would set an `auto_now_add` column (here `notes._creationTime`) to now, and
    non-finite floats are exported as Convex's `{"$float": ...}`: both come back as exported."""
    note = Note.objects.create(text="old")
    Note.objects.filter(pk=note.pk).update(created_at=dt.datetime(2020, 1, 2, tzinfo=dt.UTC))
    general = Channel.objects.create(name="general")
    for rating in (float("inf"), float("-inf"), float("nan")):
        Message.objects.create(channel=general, author="a", body="b", rating=rating)
    cli("export", str(tmp_path / "s"), "--table", "notes", "--table", "messages", "--no-progress")
    before = [m.rating for m in Message.objects.order_by("pk")]
    out, _ = cli("import", str(tmp_path / "s"), "--replace", "--no-progress")
    assert "imported 2 table(s), 4 document(s)" in out
    assert Note.objects.get().created_at == dt.datetime(2020, 1, 2, tzinfo=dt.UTC)
    after = [m.rating for m in Message.objects.order_by("pk")]
    assert [str(r) for r in after] == [str(r) for r in before] == ["inf", "-inf", "nan"]


def test_replace_touches_no_other_table(tmp_path: Path) -> None:
    """--replace deletes only the named tables' rows (no cascade into tables that refer to
    them); a row elsewhere left pointing at a row the import removed refuses the import."""
    general = Channel.objects.create(name="general")
    Message.objects.create(channel=general, author="a", body="kept")
    cli("export", str(tmp_path / "s.zip"), "--table", "channels", "--no-progress")
    out, _ = cli("import", str(tmp_path / "s.zip"), "--replace", "--no-progress")
    assert "imported 1 table(s), 1 document(s)" in out
    assert list(Message.objects.values_list("body", "channel_id")) == [("kept", general.pk)]
    other = Channel.objects.create(name="other")
    Message.objects.create(channel=other, author="a", body="orphan?")
    with pytest.raises(CommandError, match=r"(?s)testapp_message.*still referenced.*imported"):
        cli("import", str(tmp_path / "s.zip"), "--replace", "--no-progress")
    assert sorted(Channel.objects.values_list("name", flat=True)) == ["general", "other"]
    assert Message.objects.count() == 2


def test_broken_snapshots_are_one_clear_error(tmp_path: Path) -> None:
    def zipped(name: str, members: dict[str, str]) -> str:
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            for member, text in members.items():
                z.writestr(member, text)
        return str(tmp_path / name)

    missing = zipped("missing.zip", {"_tables/documents.jsonl": '{"name": "channels"}\n'})
    with pytest.raises(CommandError, match=r"missing.zip has no channels/documents.jsonl"):
        cli("import", missing)
    nameless = zipped("nameless.zip", {"_tables/documents.jsonl": '{"id": 1}\n'})
    with pytest.raises(CommandError, match=r"nameless.zip:_tables/documents.jsonl:1: .*name"):
        cli("import", nameless)
    garbled = zipped("garbled.zip", {"_tables/documents.jsonl": "{oops\n"})
    with pytest.raises(CommandError, match=r"garbled.zip:_tables/documents.jsonl:1: not JSON"):
        cli("import", garbled)
    empty = tmp_path / "empty"
    empty.mkdir()
    for nothing in (str(empty), zipped("empty.zip", {"README.md": "hi"})):
        with pytest.raises(CommandError, match=r"holds no tables"):
            cli("import", nothing)
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(CommandError, match=r"cut.zip is not a ZIP file \(damaged or cut short\)"):
        cli("import", str(tmp_path / "cut.zip"), "--table", "channels")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'\xef\xbb\xbf{"name": "ok"}\n{"name": "caf\xe9"}\n')  # a BOM is fine
    with pytest.raises(CommandError, match=r"1 bad line.*\n.*latin.jsonl:2: not UTF-8"):
        cli("import", str(latin), "--table", "channels")
    assert not Channel.objects.exists()


@pytest.mark.parametrize("name", ["s.zip", "folder"])
def test_an_interrupted_export_leaves_nothing(tmp_path: Path, name: str) -> None:
    """Ctrl-C (or any failure) half-way through an export leaves no partial snapshot that a
    later import could take for a whole one."""
    from reactive.db.tables import tables
    from reactive.snapshot import export_tables

    seed()

    def progress(table: object, total: int) -> Callable[[], None]:
        def tick() -> None:
            if table is tables.get("messages"):
                raise KeyboardInterrupt

        return tick

    with pytest.raises(KeyboardInterrupt):
        export_tables(tmp_path / name, [tables.get("channels"), tables.get("messages")], progress)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()  # an empty folder given: left empty
    with pytest.raises(KeyboardInterrupt):
        export_tables(tmp_path / "empty", [tables.get("messages")], progress)
    assert [p.name for p in tmp_path.iterdir()] == ["empty"] and not any(
        (tmp_path / "empty").iterdir()
    )


def test_a_table_named_twice_is_exported_and_imported_once(tmp_path: Path) -> None:
    """`--table channels --table channels` wrote the table twice (a ZIP with two members of
    one name, listed twice in _tables), which its own import then refused."""
    seed()
    twice = ["--table", "channels", "--table", "channels"]
    out, _ = cli("export", str(tmp_path / "s.zip"), *twice, "--no-progress")
    assert "exported 1 table(s), 2 document(s)" in out
    with zipfile.ZipFile(tmp_path / "s.zip") as z:
        assert sorted(z.namelist()) == [
            "README.md",
            "_tables/documents.jsonl",
            "channels/documents.jsonl",
            "channels/generated_schema.jsonl",
        ]
    out, _ = cli("import", str(tmp_path / "s.zip"), *twice, "--replace", "--no-progress")
    assert "imported 1 table(s), 2 document(s)" in out and Channel.objects.count() == 2


def test_a_snapshot_of_the_earlier_format_still_imports(tmp_path: Path) -> None:
    """Exports written before the Convex ids: our ids (kept), an int64 as a decimal string,
    bytes as a base64 string."""
    general = Channel.objects.create(name="general")
    channel = ids.encode_id("channels", general.pk)
    line = {
        "_id": ids.encode_id("messages", 41),
        "_creationTime": 1.5e12,
        "channel": channel,
        "author": "a",
        "body": "old",
        "big": str(2**62),
        "payload": "AP8=",
    }
    (tmp_path / "old.jsonl").write_text(json.dumps(line) + "\n")
    cli("import", str(tmp_path / "old.jsonl"), "--table", "messages", "--no-progress")
    message = Message.objects.get()
    assert (message.pk, message.big, bytes(message.payload)) == (41, 2**62, b"\x00\xff")
    assert message.creation_time == 1.5e12 and message.channel_id == general.pk
