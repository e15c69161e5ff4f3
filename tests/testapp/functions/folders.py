"""Functions at `testapp/folders:<name>`, reading what an imported Convex export became
(tests/integration/test_convex_export.py)."""

from __future__ import annotations

from typing import Any

from reactive import query, v


@query
def tree(ctx) -> list[dict[str, Any]]:
    """Each folder with the documents its references name, read back through ``ctx.db``."""
    found = []
    for folder in ctx.db.query("folders").collect():
        found.append(
            {
                **folder,
                "parentName": ctx.db.get(folder["parent"])["name"] if folder["parent"] else None,
                "channelName": ctx.db.get(folder["channel"])["name"] if folder["channel"] else None,
                "relatedDocs": [ctx.db.get(i) for i in folder["related"]],
                "iconFile": ctx.db.system.get(folder["icon"]) if folder["icon"] else None,
            }
        )
    return found


@query(args={"table": v.string()})
def every(ctx, table: str) -> list[dict[str, Any]]:
    return ctx.db.query(table).collect()
