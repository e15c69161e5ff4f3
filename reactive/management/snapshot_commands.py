"""`manage.py reactive export` and `import`: arguments, progress bars and the summary; the work
is `reactive.snapshot`'s."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ..db.tables import Table, tables
from ..errors import UnknownTable
from ..snapshot import (
    SnapshotReader,
    Source,
    documents_path,
    export_tables,
    import_tables,
    is_snapshot,
)


def add_arguments(sub: Any) -> None:
    export = sub.add_parser("export", help="Export tables as a Convex snapshot (ZIP or folder).")
    export.add_argument("path", help="A new .zip file, or a folder (created; must be empty).")
    export.add_argument(
        "--table", action="append", default=[], help="Export only this table (repeatable)."
    )
    imp = sub.add_parser("import", help="Import a snapshot, or one table's JSON Lines file.")
    imp.add_argument("path", help="A snapshot (.zip or folder), or a .jsonl file with --table.")
    imp.add_argument(
        "--table",
        action="append",
        default=[],
        help="The table a .jsonl file goes into; with a snapshot, import only this table "
        "(repeatable).",
    )
    mode = imp.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true", help="Add to tables that have rows.")
    mode.add_argument(
        "--replace", action="store_true", help="Delete the tables' rows first (same transaction)."
    )
    for parser in (export, imp):
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar (the summary stays)."
        )


def _table(name: str) -> Table:
    try:
        found = tables.get(name)
    except UnknownTable:
        known = ", ".join(t.name for t in tables if not t.system)
        raise CommandError(f"no table {name!r} (tables: {known})") from None
    if found.system:
        raise CommandError(f"{name!r} is a system table: it is neither exported nor imported")
    return found


def _progress(cmd: BaseCommand, enabled: bool, bars: list[Any]) -> Callable[[Table, int], Any]:
    def start(table: Table, total: int) -> Callable[[], None]:
        if not enabled:
            return lambda: None
        bar = tqdm(
            total=total,
            desc=table.name,
            unit=" rows",
            file=cast("TextIO", cmd.stderr._out),
            mininterval=0.2,
        )
        bars.append(bar)
        if not total:
            bar.close()

        def tick() -> None:
            bar.update(1)
            if bar.n >= total:  # done: closed now, so the next table's bar is not drawn
                bar.close()  # nested under it with cursor moves (ESC [A) in a log

        return tick

    return start


def handle(cmd: BaseCommand, options: dict[str, Any]) -> None:
    started = time.monotonic()
    bars: list[Any] = []
    progress = _progress(cmd, not options["no_progress"], bars)
    path = Path(options["path"])
    options["table"] = list(dict.fromkeys(options["table"]))  # a table named twice: once
    try:
        if options["subcommand"] == "export":
            chosen = (
                [_table(n) for n in options["table"]]
                if options["table"]
                else [t for t in tables if not t.system]
            )
            counts = export_tables(path, chosen, progress, with_storage=not options["table"])
            verb = "exported"
        else:
            mode = "append" if options["append"] else "replace" if options["replace"] else None
            reader, sources = _sources(path, options["table"])
            try:
                counts = import_tables(
                    sources,
                    mode=mode,
                    progress=progress,
                    numbers=reader.numbers() if reader is not None else None,
                    # the stored files come with the whole snapshot, not with --table
                    snapshot=reader if not options["table"] else None,
                )
            finally:
                if reader is not None:
                    reader.close()
            verb = "imported"
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        for bar in bars:
            bar.close()
    rows = sum(counts.values())
    elapsed = time.monotonic() - started
    where = "to" if verb == "exported" else "from"
    cmd.stdout.write(
        f"{verb} {len(counts)} table(s), {rows} document(s) {where} {path} in {elapsed:.1f} s"
    )
    for name, n in counts.items():
        cmd.stdout.write(f"  {name}: {n}")


def _sources(path: Path, names: list[str]) -> tuple[SnapshotReader | None, list[Source]]:
    if not path.exists():
        raise CommandError(f"{path} does not exist")
    if not is_snapshot(path):
        if path.suffix.lower() == ".zip":
            raise CommandError(f"{path} is not a ZIP file (damaged or cut short)")
        if len(names) != 1:
            raise CommandError(
                f"{path} is a single file: name its table with --table (exactly one)"
            )
        table = _table(names[0])
        return None, [Source(table, str(path), lambda: path.open("rb"))]
    reader = SnapshotReader(path)
    try:
        listed = reader.tables()
    except ValueError:
        reader.close()
        raise
    if not listed:
        reader.close()
        raise CommandError(
            f"{path} holds no tables (neither _tables/documents.jsonl nor <table>/documents.jsonl)"
        )
    unknown = [n for n in names if n not in listed]
    if unknown:
        reader.close()
        raise CommandError(f"{path} has no table {unknown[0]!r} (it has: {', '.join(listed)})")
    absent = [documents_path(n) for n in names or listed if not reader.exists(documents_path(n))]
    if absent:
        reader.close()
        raise CommandError(f"{path} has no {', '.join(absent)} (listed in its _tables)")
    sources = []
    for name in names or listed:
        member = documents_path(name)

        def opener(member: str = member) -> Any:
            return reader.open(member)

        try:
            table = _table(name)
        except CommandError:
            reader.close()
            raise
        sources.append(Source(table, f"{path}:{member}", opener))
    return reader, sources
