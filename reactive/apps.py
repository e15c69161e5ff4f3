"""Wiring at start-up: settings reload, log collection, system tables, change-capture triggers,
function discovery, row-level rules and triggers, request threads' connections. No logic of its
own."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

from django.apps import AppConfig, apps
from django.utils.module_loading import autodiscover_modules

from .changelog.triggers import follow_tables
from .conf import connect_signals, reactive_settings
from .errors import ConfigurationError
from .functions.decorators import register_pending
from .functions.logs import install
from .request_threads import connect as close_request_threads_connections
from .rules.install import discover as discover_rules
from .scheduler import system_table
from .storage import files_table


class ReactiveConfig(AppConfig):
    name = "reactive"
    verbose_name = "Reactive"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # deferred: reactive's models need the app registry, still being filled when this module
        # is imported; the checks and the procrastinate task register themselves on import
        from . import checks  # noqa: F401  (registers the system checks)
        from .models import ScheduledFunction, StoredFile
        from .observe import flush  # the admin's activity figures, written periodically
        from .scheduler import runner  # noqa: F401  (registers the procrastinate task)

        connect_signals()
        close_request_threads_connections()
        install()
        system_table.register(ScheduledFunction)
        files_table.register(StoredFile)
        follow_tables()  # tables registered so far (models modules) and any registered later
        autodiscover_functions()
        autodiscover_modules("triggers")  # every app's trigger handlers (reactive.triggers)
        register_pending()
        discover_rules()  # each app's rules module; the wrapper for public functions
        flush.install()


def autodiscover_functions() -> None:
    """Import every installed app's functions module, and each submodule of a functions package;
    then the FUNCTIONS_ROOT package and all its modules, if one is set."""
    name = reactive_settings.lenient.FUNCTIONS_MODULE
    for app in apps.get_app_configs():
        module_name = f"{app.name}.{name}"
        if importlib.util.find_spec(app.name) is None:
            continue
        try:
            spec = importlib.util.find_spec(module_name)
        except ModuleNotFoundError:
            continue
        if spec is not None:
            _import_all(module_name)
    root = reactive_settings.lenient.FUNCTIONS_ROOT
    if root:
        try:
            spec = importlib.util.find_spec(root)
        except ModuleNotFoundError:
            spec = None
        if spec is None or spec.submodule_search_locations is None:
            found = (
                "no such package" if spec is None else f"a module, not a package ({spec.origin})"
            )
            raise ConfigurationError(
                f"REACTIVE['FUNCTIONS_ROOT'] = {root!r}: {found}; it names a folder with "
                "__init__.py, as Convex's convex/ folder (see docs/functions.md)"
            )
        _import_all(root)


def _import_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{module_name}."):
            importlib.import_module(info.name)
