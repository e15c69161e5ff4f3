"""Export and import of tables in Convex's snapshot layout (`manage.py reactive export` /
``import``): `archive` reads and writes the ZIP or folder, `dump` writes documents, `load`
checks every line and then imports them all in one transaction (`insert` writes the rows);
`convex_ids` encodes Convex's ids, `remap` turns an export's ids into new rows' ids, `stored`
carries the `_storage` files.
See docs/commands.md.
"""

from __future__ import annotations

from .archive import SnapshotReader, documents_path, is_snapshot
from .dump import export_tables
from .load import MAX_ERRORS, Source, import_tables

__all__ = [
    "MAX_ERRORS",
    "SnapshotReader",
    "Source",
    "documents_path",
    "export_tables",
    "import_tables",
    "is_snapshot",
]
