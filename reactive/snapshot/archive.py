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
README = "README.md"
README_TEXT = """# A snapshot export of reactive tables

It has Convex's snapshot export layout: each table's documents are lines of JSON in
<table>/documents.jsonl, the tables are listed in _tables/documents.jsonl, stored files are in
_storage/. `manage.py reactive import` reads it back, and so does `npx convex import`.
"""


def documents_path(table: str) -> str:
    return f"{table}/documents.jsonl"


def is_snapshot(path: Path) -> bool:
    """A ZIP file or a folder (a snapshot), not a single ``.jsonl`` file."""
    return path.is_dir() or zipfile.is_zipfile(path)


class SnapshotReader:
    """Opens the members of a snapshot ZIP or folder by their path inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = None if path.is_dir() else zipfile.ZipFile(path)

    def exists(self, member: str) -> bool:
        if self._zip is None:
            return (self.path / member).is_file()
        return member in self._zip.namelist()

    def open(self, member: str) -> IO[bytes]:
        """The member's bytes (lines are decoded one by one: a bad one is named by number)."""
        if not self.exists(member):
            raise FileNotFoundError(f"{self.path} has no {member}")
        if self._zip is None:
            return (self.path / member).open("rb")
        return self._zip.open(member)

    def members(self, prefix: str) -> list[str]:
        """The paths of the members under ``prefix`` (a folder, ending with ``/``)."""
        if self._zip is None:
            root = self.path / prefix
            if not root.is_dir():
                return []
            return sorted(f"{prefix}{p.name}" for p in root.iterdir() if p.is_file())
        return [n for n in self._zip.namelist() if n.startswith(prefix) and not n.endswith("/")]

    def numbers(self) -> dict[int, str]:
        """Table number → name, as ``_tables`` lists them (empty without ``_tables``)."""
        if not self.exists(TABLES):
            return {}
        with self.open(TABLES) as f:
            entries = [json.loads(line) for line in f if line.strip()]
        return {e["id"]: e["name"] for e in entries if isinstance(e.get("id"), int)}

    def tables(self) -> list[str]:
        """The tables the snapshot lists (``_tables``), else every folder with documents."""
        if self.exists(TABLES):
            with self.open(TABLES) as f:
                listed = [self._listed(n, line) for n, line in enumerate(f, 1) if line.strip()]
            return list(dict.fromkeys(listed))
        if self._zip is None:
            found = [p.parent.name for p in self.path.glob("*/documents.jsonl")]
        else:
            found = [n.split("/")[0] for n in self._zip.namelist() if n.count("/") == 1]
            found = [n for n in found if self.exists(documents_path(n))]
        return sorted(t for t in set(found) if not t.startswith("_"))

    def _listed(self, number: int, line: bytes) -> str:
        where = f"{self.path}:{TABLES}:{number}"
        try:
            entry = json.loads(line.decode("utf-8"))
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
