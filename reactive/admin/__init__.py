"""Django admin pages of reactive: scheduled functions and crons (`scheduler`), the stored files
of `_storage` (`storage`), and every table with its indexes (`table_list`).

Django's admin autodiscovery imports this package; importing the modules registers their pages.
"""

from __future__ import annotations

from . import scheduler, storage, table_list

__all__ = ["scheduler", "storage", "table_list"]
