"""`manage.py reactive <subcommand>`: argument parsing over library calls, nothing more.

manage.py reactive functions                 list every registered function
manage.py reactive run chat:send '{"body": "hi"}' [--user alice] [--format json]
manage.py reactive worker [--concurrency 8] [--no-crons]   run scheduled functions and crons
manage.py reactive crons                     list the declared crons, their next runs, paused ones
manage.py reactive codegen [--out convex/_generated]   TypeScript for the official clients
manage.py reactive export PATH [--table T]   tables as a Convex snapshot (ZIP or folder)
manage.py reactive import PATH [--table T] [--append | --replace]   load a snapshot or JSONL
manage.py reactive convex-schema convex/schema.ts --app chat   Django models for a Convex schema
manage.py reactive dev [--port 8000]         server and worker together, reloading on changes
manage.py reactive run tasks:list --watch    print a query's result each time it changes
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import sys
from pathlib import Path
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import codegen
from ...auth import identity_from_user
from ...conf import reactive_settings
from ...errors import ConfigurationError
from ...functions.executor import execute
from ...functions.outcome import error_message
from ...functions.registry import registry
from ...models import CronRun
from ...scheduler import worker
from ...scheduler.crons import discover
from ...values import ValueEncodingError, decode
from .. import dev_server, schema_commands, snapshot_commands, watch


class Command(BaseCommand):
    help = (
        "reactive's tools: list and run functions, the scheduler's worker and crons, TypeScript "
        "codegen, export and import of tables, models from a Convex schema, a development server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("functions", help="List registered functions.")
        run = sub.add_parser("run", help="Run a function through the executor.")
        run.add_argument("path", help='Function path, e.g. "chat:send".')
        run.add_argument(
            "arguments", metavar="args", nargs="?", default="{}", help="Arguments as a JSON object."
        )
        run.add_argument("--user", help="Run as this Django user (username).")
        run.add_argument(
            "--format",
            choices=["convex_encoded_json", "json"],
            default="json",
            help="Output encoding (default: json).",
        )
        worker = sub.add_parser(
            "worker", help="Run scheduled functions and crons until SIGTERM/SIGINT."
        )
        worker.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Scheduled functions run at once (default: "
            "REACTIVE['SCHEDULER']['worker_concurrency']).",
        )
        worker.add_argument(
            "--no-crons",
            action="store_true",
            help="Do not register or run crons (another worker does).",
        )
        worker.add_argument("--name", default=None, help="Worker name, shown in logs.")
        sub.add_parser(
            "crons", help="List the declared crons, their next runs and which are paused."
        )
        run.add_argument(
            "--watch",
            action="store_true",
            help="Queries only: print the result again each time it changes, until Ctrl-C.",
        )
        codegen = sub.add_parser("codegen", help="Write TypeScript for the official clients.")
        codegen.add_argument(
            "--out",
            default="convex/_generated",
            help="Folder to write api.js, api.d.ts and dataModel.d.ts to "
            "(default: convex/_generated).",
        )
        snapshot_commands.add_arguments(sub)
        schema_commands.add_arguments(sub)
        dev_server.add_arguments(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] in ("dev", "run"):
            # Ctrl-C stops them even when started with SIGINT ignored (a background job's
            # children inherit that, and Python then installs no handler of its own)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            if options["subcommand"] == "functions":
                self._functions()
            elif options["subcommand"] == "worker":
                self._worker(options)
            elif options["subcommand"] == "crons":
                self._crons()
            elif options["subcommand"] == "codegen":
                self._codegen(options)
            elif options["subcommand"] in ("export", "import"):
                snapshot_commands.handle(self, options)
            elif options["subcommand"] == "convex-schema":
                schema_commands.handle(self, options)
            elif options["subcommand"] == "dev":
                dev_server.handle(self, options)
            else:
                self._run(options)
        except ConfigurationError as exc:  # e.g. a bad cron: one line, exit status 1
            raise CommandError(str(exc)) from None

    def _codegen(self, options: dict[str, Any]) -> None:
        out = Path(options["out"])
        try:
            result = codegen.write(out)
        except OSError as exc:
            raise CommandError(f"cannot write to {out}: {exc.strerror or exc}") from None
        for line in result.warnings:
            self.stderr.write(f"warning: {line}")
        names = ", ".join(sorted(result.files))
        self.stdout.write(f"wrote {names} to {out}")

    def _worker(self, options: dict[str, Any]) -> None:
        worker.default_logging()
        asyncio.run(
            worker.run(
                concurrency=options["concurrency"],
                name=options["name"],
                crons=not options["no_crons"],
            )
        )

    def _crons(self) -> None:
        declared = discover()
        rows = {r.name: r for r in CronRun.objects.all()}
        if not declared:
            self.stdout.write("No crons declared.")
            return

        def when(ms: float | None) -> str:
            if ms is None:
                return "-"
            return dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

        for cron in declared:
            row = rows.get(cron.name)
            state = (
                "not registered yet (start a worker)"
                if row is None
                else f"next {when(row.next_run)}  last {when(row.last_run)}  skipped {row.skipped}"
            )
            if row is not None and row.paused:  # no next run until resumed
                state = f"paused (resume it in the admin)  last {when(row.last_run)}"
            self.stdout.write(f"{cron.name}  {cron.schedule}  {cron.path}  {state}")
        self.stdout.write(f"{len(declared)} cron(s)")

    def _functions(self) -> None:
        rows = [
            (
                f.path or "",
                f.kind.value,
                f.visibility,
                f"{f.handler.__module__}.{f.handler.__qualname__}"
                + ("  (accepts any arguments)" if f.args.accepts_any and not f.http else ""),
            )
            for f in registry
        ]
        if not rows:
            self.stdout.write("No functions registered.")
            return
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for row in rows:
            cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
            self.stdout.write(f"{cells}  {row[3]}")
        self.stdout.write(f"{len(rows)} function(s)")

    def _run(self, options: dict[str, Any]) -> None:
        try:
            raw = json.loads(options["arguments"])
            call_args = decode(raw, path="args")
        except (ValueError, ValueEncodingError) as exc:
            raise CommandError(f"args must be a JSON object: {exc}") from None
        identity = None
        if options.get("user"):
            User = get_user_model()
            try:
                user = cast("BaseUserManager[Any]", User._default_manager).get_by_natural_key(
                    options["user"]
                )
            except User.DoesNotExist:
                raise CommandError(f"no user {options['user']!r}") from None
            identity = identity_from_user(user, reactive_settings.SESSION_ISSUER)
        if options["watch"]:
            watch.watch(self, options["path"], call_args, identity, options["format"] == "json")
            return
        outcome = execute(options["path"], call_args, identity=identity, from_client=False)
        for line in outcome.log_lines:
            self.stderr.write(line)
        if outcome.error is not None:
            raise CommandError(error_message(outcome.error))
        self.stdout.write(watch.shown_json(outcome.value, options["format"] == "json"))
        sys.stdout.flush()
