"""Database settings from DATABASE_URL, or an embedded PostgreSQL for development and tests.

When DATABASE_URL is unset, `database_config()` starts (or reuses) a PostgreSQL 16 server from the
`pgserver` package in a project-local data directory and points Django at its Unix socket. The
server keeps running after the process exits, so later commands reuse it; `pgserver` is an optional
dependency (`pip install 'django-reactive-backend[embedded]'`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import dj_database_url


def embedded_url(data_dir: str | os.PathLike[str]) -> str:
    """Start (or reuse) the embedded server in ``data_dir`` and return its connection URL."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            # optional: pgserver is the [embedded] extra, needed only without DATABASE_URL
            from pgserver.postgres_server import get_server
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "DATABASE_URL is not set and the embedded Postgres is not installed: "
            "pip install 'django-reactive-backend[embedded]' or set DATABASE_URL"
        ) from exc
    path = Path(data_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        server = get_server(path, cleanup_mode=None)
    return str(server.get_uri())


def database_config(data_dir: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
    """A Django ``DATABASES["default"]`` dict: DATABASE_URL when set, else the embedded server."""
    url = os.environ.get("DATABASE_URL") or embedded_url(data_dir)
    os.environ.setdefault("DATABASE_URL", url)  # subprocesses (servers under test) share it
    return dict(dj_database_url.parse(url, **options))
