"""Django system checks (`reactive.E0xx` errors, `reactive.W0xx` warnings). Inspection only.

`check_setup` needs no database; `check_capture_triggers` is a database check (Django runs it
when given databases: `migrate`, `check --database`) and looks at the installed triggers.
"""

from __future__ import annotations

from typing import Any

from channels.routing import ProtocolTypeRouter
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.utils.module_loading import import_string
from pgtrigger.core import INSTALLED, OUTDATED, UNALLOWED, UNINSTALLED

from .auth import issuers, tokens
from .changelog.triggers import TRIGGER_NAME, TRUNCATE_TRIGGER_NAME, build_triggers, captured
from .conf import reactive_settings
from .db.tables import is_package_model, tables
from .errors import ConfigurationError
from .functions import logs
from .functions.registry import registry
from .scheduler import cron_table
from .scheduler.crons import discover
from .validators import unregistered_model


@register(Tags.compatibility)
def check_setup(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    messages: list[Any] = []
    for alias, db in settings.DATABASES.items():
        if "postgresql" not in db.get("ENGINE", ""):
            messages.append(
                Error(
                    f"Database {alias!r} is not PostgreSQL.",
                    hint="reactive needs PostgreSQL (serializable transactions, triggers).",
                    id="reactive.E001",
                )
            )
    installed = set(settings.INSTALLED_APPS)
    for app, eid in (("pgtrigger", "reactive.W002"), ("channels", "reactive.W003")):
        if app not in installed:
            messages.append(
                Warning(
                    f"{app!r} is not in INSTALLED_APPS.",
                    hint=f"Add {app!r}: reactive's live queries need it.",
                    id=eid,
                )
            )
    if "procrastinate.contrib.django" not in installed:
        messages.append(
            Error(
                "'procrastinate.contrib.django' is not in INSTALLED_APPS.",
                hint="ctx.scheduler writes its jobs to procrastinate's tables: add the app and "
                "run migrate.",
                id="reactive.E008",
            )
        )
    for problem in reactive_settings.problems:  # each falls back to its default meanwhile
        messages.append(
            Error(problem, id="reactive.E004", hint="See docs/settings.md for the REACTIVE keys.")
        )
    for problem in issuers.problems() + tokens.signing_problems():  # such an issuer is refused
        messages.append(Error(problem, id="reactive.E030", hint="See docs/auth.md."))
    for alias, db in settings.DATABASES.items():
        if db.get("ATOMIC_REQUESTS"):
            messages.append(
                Error(
                    f"ATOMIC_REQUESTS is on for database {alias!r}.",
                    hint="Django refuses async views under ATOMIC_REQUESTS, so reactive's HTTP "
                    "endpoints would fail; each function runs in its own transaction anyway.",
                    id="reactive.E005",
                )
            )
    messages.extend(check_asgi())
    messages.extend(check_tables())
    messages.extend(check_functions())
    messages.extend(check_crons())
    return messages


def check_crons() -> list[Any]:
    """reactive.E021: each cron that could not be declared or registered, one line each."""
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
    found = []
    for fn in registry:
        for problem in fn.problems:
            found.append(
                Error(
                    f"{fn.path}: {problem}",
                    id="reactive.E020",
                    hint="See docs/functions.md and docs/validators.md.",
                )
            )
        for table in sorted(fn.id_tables, key=str):
            if not isinstance(table, str):  # a model class: registered since?
                if tables.for_model(table) is None:
                    found.append(
                        Error(f"{fn.path}: {unregistered_model(table)}", id="reactive.E020")
                    )
                continue
            if tables.find(table) is None:
                known = ", ".join(sorted(t.name for t in tables if not t.name.startswith("_")))
                found.append(
                    Error(
                        f"{fn.path}: v.id({table!r}) names no table",
                        hint=f"Tables: {known or 'none are registered'}.",
                        id="reactive.E020",
                    )
                )
    return found


def check_asgi() -> list[Any]:
    """reactive.W011: ASGI_APPLICATION is an application that cannot serve WebSockets (Django's
    plain `get_asgi_application()`, or a ProtocolTypeRouter without "websocket"), so every
    official WebSocket client gets "Unexpected server response: 500". Inspected only when the
    setting names an importable object of a kind we know; anything else is left alone."""
    path = getattr(settings, "ASGI_APPLICATION", None)
    if not path:
        return []  # WSGI: the sync path answers 426 with the fix (views.sync_over_http_view)
    try:
        application = import_string(path)
    except Exception:
        return []  # the ASGI server reports it, with the traceback
    finally:
        # importing it may run get_asgi_application(), so django.setup() and LOGGING again,
        # which drops the handler turning `reactive.fn` records into the calls' log lines
        logs.install()
    routes_websockets = None
    if isinstance(application, ASGIHandler):  # includes ASGIStaticFilesHandler
        routes_websockets = False
    elif isinstance(application, ProtocolTypeRouter):
        routes_websockets = "websocket" in application.application_mapping
    if routes_websockets is not False:
        return []
    return [
        Warning(
            f"ASGI_APPLICATION {path!r} routes no WebSockets, so live queries (ConvexClient, "
            'useQuery) fail with "Unexpected server response: 500".',
            hint='In asgi.py: application = ProtocolTypeRouter({"http": '
            'get_asgi_application(), "websocket": reactive.routing.sync_application()}). '
            "See docs/troubleshooting.md#asgi.",
            id="reactive.W011",
        )
    ]


SENSITIVE_FIELDS = ("password", "secret", "token", "api_key")


def check_tables() -> list[Any]:
    found = []
    for table in tables:
        exposed = [f for f in table.fields if any(s in f.lower() for s in SENSITIVE_FIELDS)]
        if exposed:
            found.append(
                Warning(
                    f"Table {table.name!r} exposes field(s) {exposed} in its documents.",
                    hint="Pass exclude=(...) to @table / register_table to keep them out.",
                    id="reactive.W006",
                )
            )
        if not table.system and is_package_model(table.model) and not captured(table):
            label = table.model._meta.label
            found.append(
                Warning(
                    f"Table {table.name!r} is {label}, a model of an installed package: it has no "
                    f"change-capture trigger, so writes to it reach no subscriber.",
                    hint=f"Declare a proxy model of {label} in one of your apps (class Meta: "
                    f"proxy = True) and register that: register_table(<proxy>, "
                    f"{table.name!r}, ...); then makemigrations and migrate. See "
                    f"docs/database.md.",
                    id="reactive.W010",
                )
            )
        for name in table.unusable_indexes():
            found.append(
                Warning(
                    f"Index {name!r} of table {table.name!r} cannot be used with with_index().",
                    hint="Indexes over expressions, partial indexes and indexes over excluded "
                    "fields are left out of the table.",
                    id="reactive.W007",
                )
            )
    return found


MISSED: dict[str | None, str] = {
    TRIGGER_NAME: "inserts, updates and deletes",
    TRUNCATE_TRIGGER_NAME: "TRUNCATE and `manage.py flush`",
}


@register(Tags.database)
def check_capture_triggers(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Any]:
    """reactive.W009: a table whose capture trigger is missing, outdated or disabled."""
    if not databases:
        return []
    found: list[Any] = []
    for alias in databases:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        existing = set(connection.introspection.table_names())
        for table in tables:
            model = table.model
            if not captured(table) or model._meta.db_table not in existing:
                continue  # no trigger declared (W010), or migrate has yet to create the table
            # pgtrigger annotates `model` as an instance; it takes the class, as pgtrigger's own
            # commands pass it (hence the two pyright ignores)
            for trigger in build_triggers(table):
                status, enabled = trigger.get_installation_status(model, database=alias)  # pyright: ignore[reportArgumentType]
                if status == INSTALLED and enabled:
                    continue
                if status == UNALLOWED:
                    continue  # a router keeps the model out of this database
                state = {
                    UNINSTALLED: "is not installed",
                    OUTDATED: "is outdated",
                    INSTALLED: "is disabled",
                }.get(status, f"is {status.lower()}")
                uri = trigger.get_uri(model)  # pyright: ignore[reportArgumentType]
                if status == INSTALLED:
                    hint = f"Run `manage.py pgtrigger enable {uri}`."
                    effect = f"{MISSED[trigger.name]} reach no subscriber"
                elif status == OUTDATED:
                    hint = (
                        "Run `manage.py makemigrations` and `manage.py migrate` (the table's "
                        "indexes changed); if migrate has nothing to apply, "
                        f"`manage.py pgtrigger install {uri}` rewrites it."
                    )
                    effect = (
                        "it differs from the one the table declares and some writes may "
                        "reach no subscriber"
                    )
                else:
                    hint = (
                        "Run `manage.py migrate`. If it has nothing to apply (the trigger "
                        f"was dropped by hand), `manage.py pgtrigger install {uri}` "
                        "re-creates it; if `makemigrations` has changes, run it first."
                    )
                    effect = f"{MISSED[trigger.name]} reach no subscriber"
                found.append(
                    Warning(
                        f"Table {table.name!r}: trigger {trigger.name!r} on "
                        f"{model._meta.db_table!r} {state} in database {alias!r}, so {effect}.",
                        hint=hint,
                        id="reactive.W009",
                    )
                )
    return found


@register(Tags.database)
def check_vector_extension(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Any]:
    """reactive.E040: a table declares a vector index, and the database server cannot provide
    pgvector (checked before `migrate` runs, which would fail on CREATE EXTENSION)."""
    declared = [t.name for t in tables if t.vector_indexes]
    if not databases or not declared:
        return []
    found: list[Any] = []
    for alias in databases:
        connection = connections[alias]
        available = connection.vendor == "postgresql"
        if available:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
                available = cursor.fetchone() is not None
        if not available:
            found.append(
                Error(
                    f"Tables {declared} declare vector indexes, and database {alias!r} has no "
                    "pgvector extension to install.",
                    hint=(
                        "Install pgvector on the PostgreSQL server (Debian: "
                        "postgresql-<version>-pgvector) or use reactive's embedded Postgres, "
                        "which ships it; see docs/vector-search.md."
                    ),
                    id="reactive.E040",
                )
            )
    return found
