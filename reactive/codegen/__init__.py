"""TypeScript for the official Convex clients: `convex/_generated/` from the registry.

`generate()` returns the files (`api.js`, `api.d.ts`, `dataModel.d.ts`) and the warnings for
functions without validators; `write(folder)` writes them. Run as
``manage.py reactive codegen [--out convex/_generated]``; see docs/codegen.md.
"""

from __future__ import annotations

from pathlib import Path

from .emit import Generated, generate


def write(folder: Path) -> Generated:
    """Generate and write every file into ``folder`` (created if missing); each file is
    written whole (to a temporary name, then renamed), unchanged ones are left alone."""
    result = generate()
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in result.files.items():
        target = folder / name
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    return result


__all__ = ["Generated", "generate", "write"]
