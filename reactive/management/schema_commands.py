"""`manage.py reactive convex-schema`: arguments and the closing line; the work is
`reactive.porting`'s."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from .. import porting

_MAX_LENGTH = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)=([1-9][0-9]*)")


def add_arguments(sub: Any) -> None:
    parser = sub.add_parser(
        "convex-schema", help="Write Django models for the tables of a Convex schema.ts."
    )
    parser.add_argument("schema", help="The Convex schema, e.g. ../web/convex/schema.ts.")
    parser.add_argument(
        "--app", help="The app the models are for: writes its models.py unless --out is given."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", help="The file to write the models to.")
    where.add_argument(
        "--stdout",
        action="store_true",
        dest="to_stdout",  # options["to_stdout"] is Django's own: the output stream
        help="Print the models, write nothing.",
    )
    parser.add_argument(
        "--max-length",
        action="append",
        default=[],
        metavar="TABLE.FIELD=N",
        help="That v.string() field is a CharField(max_length=N) (repeatable); "
        "the others are TextFields.",
    )
    parser.add_argument("--force", action="store_true", help="Overwrite an existing file.")


def _max_lengths(values: list[str]) -> dict[str, int]:
    found = {}
    for value in values:
        match = _MAX_LENGTH.fullmatch(value)
        if match is None:
            raise CommandError(f"--max-length {value}: write TABLE.FIELD=N, e.g. users.name=64")
        found[f"{match[1]}.{match[2]}"] = int(match[3])
    return found


def handle(cmd: BaseCommand, options: dict[str, Any]) -> None:
    app = options["app"]
    folder = None
    if app is not None:
        try:
            folder = Path(apps.get_app_config(app).path)
        except LookupError:
            raise CommandError(f"--app {app}: no installed app has that label") from None
    if not (options["out"] or options["to_stdout"] or app):
        raise CommandError("say where the models go: --app LABEL, --out FILE or --stdout")
    package = Path(str(folder)) / "models"
    if app and not (options["out"] or options["to_stdout"]) and package.is_dir():
        # a models.py beside it would never be imported: Python takes the package
        raise CommandError(
            f"--app {app}: its models are a package ({package}): pass --out "
            f"{package / 'convex.py'} and import that module in models/__init__.py"
        )
    limits = _max_lengths(options["max_length"])
    schema = Path(options["schema"])
    try:
        source, plan = porting.convert(schema, limits)
        for warning in plan.warnings:
            cmd.stderr.write(f"warning: {warning}")
        if options["to_stdout"]:
            cmd.stdout.write(source, ending="")
            if _uses_pgvector(plan):  # said where it does not mix with the module
                cmd.stderr.write(f"note: {PGVECTOR}")
            return
        out = Path(options["out"]) if options["out"] else Path(str(folder)) / "models.py"
        porting.write(out, source, force=options["force"])
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    label = app or out.resolve().parent.name  # --out models.py: the current folder's name
    cmd.stdout.write(
        f"wrote {len(plan.tables)} model(s) to {out}; now run manage.py makemigrations {label}"
    )
    if _uses_pgvector(plan):
        cmd.stdout.write(PGVECTOR)


PGVECTOR = (
    "the models use pgvector: put pgvector.django.VectorExtension() first in that "
    "migration's operations (docs/vector-search.md)"
)


def _uses_pgvector(plan: porting.SchemaPlan) -> bool:
    return any(f.kind == "vector" for t in plan.tables for f in t.fields)
