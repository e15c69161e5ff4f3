"""Django admin pages of reactive, the project's dashboard: every function with a form to run it
(`functions`), the slowest functions, recent conflicts and live subscriptions (`activity`),
scheduled functions and crons (`scheduler`), the stored files of `_storage` (`storage`), and
every table with its indexes (`table_list`); `base.ReactiveModelAdmin` for a project's own
tables.

Django's admin autodiscovery imports this package; importing the modules registers their pages.
"""

from __future__ import annotations

from . import activity, functions, scheduler, storage, table_list
from .base import ReactiveModelAdmin

__all__ = ["ReactiveModelAdmin", "activity", "functions", "scheduler", "storage", "table_list"]
