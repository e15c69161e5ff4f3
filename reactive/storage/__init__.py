"""File storage, as Convex's: the `_storage` system table, ``ctx.storage``, upload and file URLs.

In layers: `files_table`, `signing`, `origin`, `files`, `rows`, `ranges` and `api` (what the
contexts hold) sit below `functions/`; `endpoints` (the HTTP views) and `upload_limit` (an ASGI
wrapper) sit with the transports.
The bytes are kept by a Django storage (``REACTIVE["STORAGE"]["storage"]``). See docs/storage.md.
"""
