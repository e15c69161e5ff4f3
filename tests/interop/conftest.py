"""Fixtures of the official-client tests: a uvicorn server, and both servers in turn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import LiveServer, start_server


@pytest.fixture(scope="module")
def uvicorn_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Like conftest's `asgi_server`, served by uvicorn instead of daphne."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), (
        f"uvicorn_server would use database {name!r}: mark the module with pytest.mark.django_db"
    )
    server = start_server(name, tmp_path_factory.mktemp("uvicorn"), server="uvicorn")
    yield server
    server.stop()


@pytest.fixture(params=["daphne", "uvicorn"])
def any_server(request: pytest.FixtureRequest) -> LiveServer:
    fixture = "asgi_server" if request.param == "daphne" else "uvicorn_server"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]
