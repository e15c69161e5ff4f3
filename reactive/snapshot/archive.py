"""Snapshot files in Convex's export layout, as a ZIP or a folder: the paths, nothing else.

``_tables/documents.jsonl`` lists the tables, one ``{"name": "messages", "id": 10001}`` a line
(Convex's table numbers; our export numbers them by their place in the list, from 10001), and
each table's documents are in ``<table>/documents.jsonl``, one JSON object a line, beside a
``<table>/generated_schema.jsonl`` (``"uniform"``: the values are in Convex's export JSON).
``README.md`` says what the ZIP is; ``_storage/`` holds the stored files (`stored`).
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

TABLES = "_tables/documents.jsonl"
#: The longest line read (bytes). Convex caps a document at 1 MiB, which its export JSON writes
#: in at most 6 MiB (every character escaped); a longer line is refused without being held.
MAX_LINE = 16 * 2**20
README = "README.md"
README_TEXT = """# A snapshot export of reactive tables

It has Convex's snapshot export layout: each table's documents are lines of JSON in
<table>/documents.jsonl, the tables are listed in _tables/documents.jsonl, stored files are in
_storage/. `manage.py reactive import` reads it back, and so does `npx convex import`.
"""


def documents_path(table: str) -> str:
    return f"{table}/documents.jsonl"


def read_lines(f: IO[bytes]) -> Iterator[bytes | None]:
    """The lines of ``f`` (newline included), each None when longer than `MAX_LINE`: read in
    pieces up to its end, never whole, so a crafted line cannot fill the memory."""
    while raw := f.readline(MAX_LINE + 1):
        if len(raw) <= MAX_LINE or raw.endswith(b"\n"):
            yield raw
            continue
        while (rest := f.readline(MAX_LINE)) and not rest.endswith(b"\n"):
            pass
        yield None


def text(raw: bytes, number: int) -> str:
    """Line ``number`` as text: UTF-8, a BOM accepted at the start of the file."""
    return raw.decode("utf-8-sig" if number == 1 else "utf-8")


def too_long() -> str:
    return f"longer than {MAX_LINE // 2**20} MiB (no Convex document is)"


def is_snapshot(path: Path) -> bool:
    """A ZIP file or a folder (a snapshot), not a single ``.jsonl`` file."""
    return path.is_dir() or zipfile.is_zipfile(path)


def _folder(names: list[str]) -> str:
    """The one folder a re-zipped snapshot sits in (``"export/"``: a folder compressed by a
    file manager, which may add ``__MACOSX/``), as Convex's import reads any such prefix; ``""``
    for a snapshot at the ZIP's root."""
    if TABLES in names or any(n.count("/") == 1 and n.endswith("/documents.jsonl") for n in names):
        return ""
    tops = {n.split("/", 1)[0] for n in names if "/" in n and not n.startswith("__MACOSX/")}
    if len(tops) == 1 and f"{next(iter(tops))}/{TABLES}" in names:
        return f"{next(iter(tops))}/"
    return ""


class SnapshotReader:
    """Opens the members of a snapshot ZIP or folder by their path inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = None if path.is_dir() else zipfile.ZipFile(path)
        #: a ZIP's members by their path in the snapshot → their name in the ZIP
        self._names: dict[str, str] = {}
        if self._zip is not None:
            names = self._zip.namelist()
            seen: set[str] = set()
            for name in names:
                if name in seen:  # ZipFile.open reads the last: the other would go unseen
                    self._zip.close()
                    raise ValueError(f"{path} holds {name} twice: a ZIP must name a member once")
                seen.add(name)
            prefix = _folder(names)
            self._names = {n[len(prefix) :]: n for n in names if n.startswith(prefix)}

    def exists(self, member: str) -> bool:
        if self._zip is None:
            return (self.path / member).is_file()
        return member in self._names

    def open(self, member: str) -> IO[bytes]:
        """The member's bytes (lines are decoded one by one: a bad one is named by number)."""
        if not self.exists(member):
            raise FileNotFoundError(f"{self.path} has no {member}")
        if self._zip is None:
            return (self.path / member).open("rb")
        return self._zip.open(self._names[member])

    def members(self, prefix: str) -> list[str]:
        """The paths of the members under ``prefix`` (a folder, ending with ``/``)."""
        if self._zip is None:
            root = self.path / prefix
            if not root.is_dir():
                return []
            return sorted(f"{prefix}{p.name}" for p in root.iterdir() if p.is_file())
        return [n for n in self._names if n.startswith(prefix) and not n.endswith("/")]

    def numbers(self) -> dict[int, str]:
        """Table number → name, as ``_tables`` lists them (empty without ``_tables``)."""
        if not self.exists(TABLES):
            return {}
        with self.open(TABLES) as f:
            entries = [
                json.loads(text(line, n))
                for n, line in enumerate(read_lines(f), 1)
                if line and line.strip()
            ]
        return {
            e["id"]: e["name"]
            for e in entries
            if isinstance(e.get("id"), int) and not isinstance(e["id"], bool)
        }

    def tables(self) -> list[str]:
        """The tables the snapshot lists (``_tables``), then every other folder with documents
        (Convex's import reads each ``<table>/documents.jsonl``, listed or not)."""
        listed: list[str] = []
        if self.exists(TABLES):
            with self.open(TABLES) as f:
                for n, line in enumerate(read_lines(f), 1):
                    if line is None or line.strip():
                        listed.append(self._listed(n, line))
        if self._zip is None:
            found = [p.parent.name for p in self.path.glob("*/documents.jsonl")]
        else:
            found = [n.split("/")[0] for n in self._names if n.count("/") == 1]
            found = [n for n in found if self.exists(documents_path(n))]
        others = sorted(t for t in set(found) if not t.startswith("_") and t not in listed)
        return list(dict.fromkeys(listed + others))

    def _listed(self, number: int, line: bytes | None) -> str:
        where = f"{self.path}:{TABLES}:{number}"
        if line is None:
            raise ValueError(f"{where}: {too_long()}")
        try:
            entry = json.loads(text(line, number))
        except ValueError:  # UnicodeDecodeError too
            raise ValueError(f"{where}: not JSON") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f'{where}: expected {{"name": "<table>", ...}}')
        name: str = entry["name"]
        return name

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


class SnapshotWriter:
    """Writes members into a new ZIP (a ``.zip`` path) or a new folder (any other path).

    Everything goes to a hidden sibling first (``.<name>.partial``); `commit` renames it to
    ``path``, `discard` removes it: a failed or interrupted export leaves nothing behind."""

    def __init__(self, path: Path) -> None:
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ValueError(f"{path} already exists: export to a new .zip path or an empty folder")
        self.path = path
        self._tmp = path.parent / f".{path.name}.partial"
        self._discard_tmp()  # left by an export killed outright
        if path.suffix == ".zip":
            self._zip: zipfile.ZipFile | None = zipfile.ZipFile(
                self._tmp, "w", zipfile.ZIP_DEFLATED
            )
        else:
            self._zip = None
            self._tmp.mkdir()

    def lines(self, member: str, lines: Iterator[str]) -> None:
        """Write ``member`` from ``lines`` (each without its newline), streamed."""
        if self._zip is None:
            target = self._tmp / member
            target.parent.mkdir(parents=True, exist_ok=True)
            out: IO[str] = target.open("w", encoding="utf-8")
        else:
            out = io.TextIOWrapper(self._zip.open(member, "w"), encoding="utf-8")
        with out:
            for line in lines:
                out.write(line + "\n")

    def copy(self, member: str, source: IO[bytes]) -> None:
        """Write ``member`` from the binary file ``source``, streamed."""
        if self._zip is None:
            target = self._tmp / member
            target.parent.mkdir(parents=True, exist_ok=True)
            out: IO[bytes] = target.open("wb")
        else:
            out = self._zip.open(member, "w")
        with out:
            shutil.copyfileobj(source, out)

    def commit(self) -> None:
        """Finish the snapshot and put it at ``path``."""
        if self._zip is not None:
            self._zip.close()
        if self.path.is_dir():
            self.path.rmdir()  # the empty folder given
        self._tmp.rename(self.path)

    def discard(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._discard_tmp()

    def _discard_tmp(self) -> None:
        if self._tmp.is_dir():
            shutil.rmtree(self._tmp)
        else:
            self._tmp.unlink(missing_ok=True)
