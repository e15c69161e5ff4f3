"""Django system checks (`reactive.E0xx` errors, `reactive.W0xx` warnings). Inspection only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility)
def check_setup(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    messages: list[Any] = []
    for alias, db in settings.DATABASES.items():
        if "postgresql" not in db.get("ENGINE", ""):
            messages.append(Error(
                f"Database {alias!r} is not PostgreSQL.",
                hint="reactive needs PostgreSQL (serializable transactions, triggers).",
                id="reactive.E001",
            ))
    installed = set(settings.INSTALLED_APPS)
    for app, eid in (("pgtrigger", "reactive.W002"), ("channels", "reactive.W003")):
        if app not in installed:
            messages.append(Warning(
                f"{app!r} is not in INSTALLED_APPS.",
                hint=f"Add {app!r}: reactive's live queries need it.",
                id=eid,
            ))
    if "procrastinate.contrib.django" not in installed:
        messages.append(Error(
            "'procrastinate.contrib.django' is not in INSTALLED_APPS.",
            hint="ctx.scheduler writes its jobs to procrastinate's tables: add the app and "
                 "run migrate.",
            id="reactive.E008",
        ))
    from .conf import reactive_settings

    for problem in reactive_settings.problems:  # each falls back to its default meanwhile
        messages.append(Error(problem, id="reactive.E004",
                              hint="See docs/settings.md for the REACTIVE keys."))
    for alias, db in settings.DATABASES.items():
        if db.get("ATOMIC_REQUESTS"):
            messages.append(Error(
                f"ATOMIC_REQUESTS is on for database {alias!r}.",
                hint="Django refuses async views under ATOMIC_REQUESTS, so reactive's HTTP "
                     "endpoints would fail; each function runs in its own transaction anyway.",
                id="reactive.E005",
            ))
    messages.extend(check_tables())
    messages.extend(check_functions())
    messages.extend(check_crons())
    return messages


def check_crons() -> list[Any]:
    """reactive.E021: each cron that could not be declared or registered, one line each."""
    from .conf import reactive_settings
    from .errors import ConfigurationError
    from .scheduler import cron_table
    from .scheduler.crons import discover

    problems: list[str] = []
    crons = discover(problems)
    if reactive_settings.problems:
        crons = []  # checking arguments reads the limits; E004 already says what to fix
    for cron in crons:
        try:
            cron_table.check(cron)  # what a worker checks at start: function and arguments
        except ConfigurationError as exc:
            problems.append(str(exc))
    return [Error(p, id="reactive.E021", hint="See docs/scheduler.md#crons.") for p in problems]


def check_functions() -> list[Any]:
    """reactive.E020: each definition mistake of a registered function, named by its path."""
    from .db.tables import tables
    from .functions.registry import registry

    found = []
    for fn in registry:
        for problem in fn.problems:
            found.append(Error(f"{fn.path}: {problem}", id="reactive.E020",
                               hint="See docs/functions.md and docs/validators.md."))
        for table in sorted(fn.id_tables):
            if tables.find(table) is None:
                known = ", ".join(sorted(t.name for t in tables if not t.name.startswith("_")))
                found.append(Error(f"{fn.path}: v.id({table!r}) names no table",
                                   hint=f"Tables: {known or 'none are registered'}.",
                                   id="reactive.E020"))
    return found


SENSITIVE_FIELDS = ("password", "secret", "token", "api_key")


def check_tables() -> list[Any]:
    from .db.tables import tables

    found = []
    for table in tables:
        exposed = [f for f in table.fields if any(s in f.lower() for s in SENSITIVE_FIELDS)]
        if exposed:
            found.append(Warning(
                f"Table {table.name!r} exposes field(s) {exposed} in its documents.",
                hint="Pass exclude=(...) to @table / register_table to keep them out.",
                id="reactive.W006",
            ))
        for name in table.unusable_indexes():
            found.append(Warning(
                f"Index {name!r} of table {table.name!r} cannot be used with with_index().",
                hint="Indexes over expressions, partial indexes and indexes over excluded fields "
                     "are left out of the table.",
                id="reactive.W007",
            ))
    return found
