"""manage.py reactive import of a ZIP as `npx convex export` writes it: each Convex `_id`
becomes a new row's id and every reference follows it (foreign keys, a self-reference, ids in
a JSON array, a `_storage` id with the file's bytes); the export of that and its import into an
empty database give the same documents and graph; each bad input is refused in one line with
nothing written."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from reactive import ids
from reactive.models import StoredFile
from reactive.snapshot import convex_ids
from reactive.storage import files
from reactive.testing import call
from tests.testapp.models import Channel, Folder, Message

pytestmark = pytest.mark.django_db(transaction=True)

NUMBERS = {"channels": 10001, "messages": 10002, "folders": 10003}
STORAGE_NUMBER = 29  # a system table's number, below the user tables'
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
ICON = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3


def convex_id(number: int, internal: bytes | None = None) -> str:
    """A Convex id as convex-backend's id_v6.rs lays it out (written here independently of
    reactive's codec): VInt table number, 16-byte internal id, Fletcher-16 footer, base32."""
    vint = bytearray()
    while number >= 0x80:
        vint.append(number & 0x7F | 0x80)
        number >>= 7
    body = bytes(vint) + bytes([number]) + (internal or os.urandom(16))
    c0 = c1 = 0
    for byte in body:
        c0, c1 = (c0 + byte) % 256, (c1 + (c0 + byte) % 256) % 256
    raw = body + bytes([c0, c1])
    chars = -(-len(raw) * 8 // 5)
    bits = int.from_bytes(raw, "big") << (chars * 5 - len(raw) * 8)
    return "".join(CROCKFORD[bits >> (5 * (chars - 1 - i)) & 31] for i in range(chars))


def test_ids_are_encoded_as_convex_encodes_them() -> None:
    # an id of table 10009 from convex-backend (dashboard CommandPalette.stories.tsx)
    real = "k570e9j5cj1t5gf0zwf3tq3vkawxhqr0"
    internal = bytes.fromhex("0726456483a2c1e0ff1e3d5c7b9ab9d8")
    assert convex_id(10009, internal) == real
    assert convex_ids.decode(real) == (10009, internal)
    assert convex_ids.encode(10009, internal) == real
    assert convex_ids.decode(real[:-1] + "1") is None  # the footer catches a typo
    assert convex_ids.decode("jd72k9x8nmgz5h3qawc4btep0n6y1fvr") is None  # made up by hand
    assert convex_ids.decode(ids.encode_id("messages", 7)) is None


class Ids:
    def __init__(self) -> None:
        self.general, self.random = convex_id(10001), convex_id(10001)
        self.hello, self.reply = convex_id(10002), convex_id(10002)
        self.child, self.root = convex_id(10003), convex_id(10003)
        self.icon = convex_id(STORAGE_NUMBER)


def members(i: Ids) -> dict[str, str | bytes]:
    """The members of a Convex export of three tables and one stored file."""
    t = 1_700_000_000_000.0

    def jsonl(*docs: dict[str, Any]) -> str:
        return "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in docs)

    found: dict[str, str | bytes] = {
        "README.md": "# Welcome to your Convex snapshot export!\n",
        "_tables/documents.jsonl": jsonl(*({"name": n, "id": x} for n, x in NUMBERS.items())),
        "channels/documents.jsonl": jsonl(
            {"_id": i.general, "_creationTime": t + 1, "name": "general", "topic": "hi"},
            {"_id": i.random, "_creationTime": t + 2, "name": "random"},
        ),
        "messages/documents.jsonl": jsonl(
            {
                "_id": i.hello,
                "_creationTime": t + 3,
                "channel": i.general,
                "author": "ann",
                "body": "hello",
                "big": 2**62,
                "payload": {"$bytes": "AP8="},
            },
            {
                "_id": i.reply,
                "_creationTime": t + 4.5,
                "channel": i.random,
                "author": "bob",
                "body": "re: hello",
                "score": 2,
            },
        ),
        "folders/documents.jsonl": jsonl(  # the child first: it refers to a later line
            {
                "_id": i.child,
                "_creationTime": t + 6,
                "name": "child",
                "parent": i.root,
                "channel": None,
                "related": [i.root, i.hello],
                "icon": "",
            },
            {
                "_id": i.root,
                "_creationTime": t + 5,
                "name": "root",
                "channel": i.general,
                "related": [],
                "icon": i.icon,
            },
        ),
        "_storage/documents.jsonl": jsonl(
            {
                "_id": i.icon,
                "_creationTime": t,
                "sha256": base64.b64encode(hashlib.sha256(ICON).digest()).decode(),
                "size": len(ICON),
                "contentType": "image/png",
                "internalId": "5e9cd2b6-0c3b-4fd4-8d0a-5c1b2c3d4e5f",
            },
        ),
        f"_storage/{i.icon}.png": ICON,
    }
    for table in NUMBERS:
        found[f"{table}/generated_schema.jsonl"] = '"uniform"\n'
    return found


def write_zip(path: Path, content: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in content.items():
            z.writestr(name, data)
    return path


def cli(*args: str) -> str:
    out = StringIO()
    call_command("reactive", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def tree() -> list[dict[str, Any]]:
    return sorted(call("testapp/folders:tree"), key=lambda f: f["name"])


def stored_files() -> list[str]:
    try:
        return files.backend().listdir("reactive-storage/")[1]
    except FileNotFoundError:
        return []


def test_a_convex_export_is_imported_with_every_reference_remapped(tmp_path: Path) -> None:
    i = Ids()
    out = cli("import", str(write_zip(tmp_path / "convex.zip", members(i))))
    assert "imported 4 table(s), 7 document(s)" in out and "_storage: 1" in out

    child, root = tree()
    for doc in (child, root):
        assert ids.pk_of("folders", doc["_id"]) is not None  # new ids, ours
    assert child["parentName"] == "root" and child["parent"] == root["_id"]  # self-reference
    assert child["channel"] is None and root["channelName"] == "general"
    hello = Message.objects.get(body="hello")
    assert [d["_id"] for d in child["relatedDocs"]] == [
        root["_id"],
        ids.encode_id("messages", hello.pk),
    ]
    assert child["relatedDocs"][1]["body"] == "hello"
    assert (root["_creationTime"], child["_creationTime"]) == (
        1_700_000_000_005.0,
        1_700_000_000_006.0,
    )
    assert root["iconFile"]["contentType"] == "image/png" and root["iconFile"]["size"] == len(ICON)
    stored = StoredFile.objects.get(pk=ids.pk_of("_storage", root["icon"]))
    assert files.read_all(stored.name) == ICON and stored.creation_time == 1_700_000_000_000.0
    messages = {m["body"]: m for m in call("testapp/folders:every", {"table": "messages"})}
    general = Channel.objects.get(name="general")
    assert messages["hello"]["channel"] == ids.encode_id("channels", general.pk)
    assert messages["re: hello"]["_creationTime"] == 1_700_000_000_004.5
    assert (
        hello.big == 2**62
        and bytes(hello.payload) == b"\x00\xff"
        and Message.objects.get(body="re: hello").score == 2
    )

    # the round trip: export, then import into an empty database: the same documents and graph
    before = tree()
    before_messages = call("testapp/folders:every", {"table": "messages"})
    out = cli("export", str(tmp_path / "ours.zip"))
    with zipfile.ZipFile(tmp_path / "ours.zip") as z:
        names = set(z.namelist())
        listed = [json.loads(x) for x in z.read("_tables/documents.jsonl").splitlines()]
        folders = [json.loads(x) for x in z.read("folders/documents.jsonl").splitlines()]
        icon = json.loads(z.read("_storage/documents.jsonl"))["_id"]
        assert z.read(f"_storage/{icon}") == ICON
    assert {"README.md", "folders/generated_schema.jsonl", "_storage/documents.jsonl"} <= names
    number = {t["name"]: t["id"] for t in listed}["folders"]
    assert all(convex_ids.decode(f["_id"])[0] == number for f in folders)  # type: ignore[index]
    by_name = {f["name"]: f for f in folders}
    assert by_name["child"]["parent"] == by_name["root"]["_id"] and by_name["root"]["icon"] == icon

    for model in (Folder, Message, Channel, StoredFile):
        model.objects.all().delete()
    out = cli("import", str(tmp_path / "ours.zip"))
    assert "folders: 2" in out and "_storage: 1" in out
    assert tree() == before  # ids too: our export carries the keys
    assert call("testapp/folders:every", {"table": "messages"}) == before_messages
    after = StoredFile.objects.get(pk=ids.pk_of("_storage", before[1]["icon"]))
    assert files.read_all(after.name) == ICON


def _refused(tmp_path: Path, content: dict[str, str | bytes] | bytes, *args: str) -> str:
    path = tmp_path / "convex.zip"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write_zip(path, content)
    counts = [m.objects.count() for m in (Channel, Message, Folder, StoredFile)]
    on_disk = stored_files()
    with pytest.raises(CommandError) as info:
        cli("import", str(path), *args)
    assert [m.objects.count() for m in (Channel, Message, Folder, StoredFile)] == counts
    assert stored_files() == on_disk
    message = str(info.value)
    lines = message.splitlines()
    # one line, or the bad-lines header and one line for each bad line
    assert len(lines) == 1 or lines[0] == f"{len(lines) - 1} bad line(s); nothing was imported:"
    return lines[-1]


def test_bad_exports_are_refused_in_one_line_with_nothing_written(tmp_path: Path) -> None:
    Channel.objects.create(name="already here")
    i = Ids()
    good = members(i)

    missing = {k: v for k, v in good.items() if k != "folders/documents.jsonl"}
    assert "has no folders/documents.jsonl (listed in its _tables)" in _refused(tmp_path, missing)

    broken = {**good, "messages/documents.jsonl": str(good["messages/documents.jsonl"]) + "{oops\n"}
    line = _refused(tmp_path, broken, "--append")
    assert line.startswith(f"{tmp_path / 'convex.zip'}:messages/documents.jsonl:3: not JSON")

    gone = convex_id(10003)
    dangling = {
        **good,
        "folders/documents.jsonl": str(good["folders/documents.jsonl"]).replace(i.root, gone, 1),
    }
    line = _refused(tmp_path, dangling, "--append")
    assert line.endswith(
        f"folders/documents.jsonl:1: `parent` refers to {gone!r} of table 'folders', "
        "which is not in the export: a foreign key with a database constraint cannot hold an id "
        "naming no document (a field without one keeps it, as Convex does)"
    )

    elsewhere = {
        **good,
        "messages/documents.jsonl": str(good["messages/documents.jsonl"]).replace(
            i.general, convex_id(10009)
        ),
    }
    line = _refused(tmp_path, elsewhere, "--append")
    assert (
        "messages/documents.jsonl:1: " in line
        and "is not an id of table 'channels' (field `channel`" in line
    )

    unknown = {
        **good,
        "_tables/documents.jsonl": str(good["_tables/documents.jsonl"])
        + '{"name":"likes","id":10004}\n',
        "likes/documents.jsonl": json.dumps({"_id": convex_id(10004), "_creationTime": 1.0}) + "\n",
    }
    assert _refused(tmp_path, unknown, "--append").startswith("no table 'likes' (tables: ")

    not_imported = _refused(tmp_path, good, "--append", "--table", "messages")
    assert (
        f"refers to {i.random!r} of table 'channels', which is not imported (add --table channels)"
        in not_imported
    )

    likes = convex_id(10004)
    listed = str(good["_tables/documents.jsonl"]) + '{"name":"likes","id":10004}\n'
    related = str(good["folders/documents.jsonl"]).replace('"related":[]', f'"related":["{likes}"]')
    line = _refused(
        tmp_path,
        {**good, "_tables/documents.jsonl": listed, "folders/documents.jsonl": related},
        "--append",
        "--table",
        "folders",
        "--table",
        "channels",
    )
    assert line.endswith(
        f"`related[0]` refers to {likes!r} of table 'likes', which is not imported, "
        "nor a table here"
    )

    assert "has no table 'topics'" in _refused(tmp_path, good, "--append", "--table", "topics")

    tampered = {**good, f"_storage/{i.icon}.png": ICON + b"!"}
    line = _refused(tmp_path, tampered, "--append")  # fails once its bytes are written: removed
    assert line.endswith("_storage/documents.jsonl:1: the file's SHA-256 is not the `sha256` given")

    no_file = {k: v for k, v in good.items() if not k.endswith(".png")}
    assert f"its file _storage/{i.icon} is not in the export" in _refused(
        tmp_path, no_file, "--append"
    )

    twice = {**good, "channels/documents.jsonl": str(good["channels/documents.jsonl"]) * 2}
    line = _refused(tmp_path, twice, "--append")
    assert line.endswith(
        f"channels/documents.jsonl:4: `_id` {i.random!r} appears twice in the export"
    )

    assert "is not a ZIP file" in _refused(tmp_path, b"not a zip at all")
