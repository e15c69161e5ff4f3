"""A function's log lines are its own; the server's logging follows LOGGING (docs/functions.md).

Clients get `ctx.log`, the `reactive.fn` logger and `print()` of the call, never a library's
records; an uncaught error is logged with its traceback even in a project with no LOGGING; the
worker prints its INFO lines by default.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from reactive.errors import InternalError, NotAllowedHere
from reactive.functions.executor import execute
from reactive.ids import pk_of
from tests.conftest import LiveServer, start_server
from tests.worker import start_worker

pytestmark = pytest.mark.django_db(transaction=True)

OWN_LINES = [
    "[LOG] own line 1",
    "[LOG] printed {name}",
    "[LOG] two",
    "[INFO] from the function logger",
    "[LOG] lines",
]


def _name() -> str:
    return f"logs-{uuid.uuid4().hex[:8]}"


def _db_name() -> str:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_")
    return name


def test_only_the_functions_own_lines_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    name = _name()
    out = execute("testapp/own_logs:chatty", {"name": name})
    assert out.unwrap() == "ok"
    assert out.log_lines == [line.format(name=name) for line in OWN_LINES]
    # print still reaches the server's stdout
    assert f"printed {name}" in capsys.readouterr().out


def test_daphne_client_gets_only_the_functions_lines(asgi_server: LiveServer) -> None:
    """Under daphne (whose root logger prints INFO), procrastinate's "Deferred 1 job" and a
    library's warning stay in the server's log and never reach the client."""
    name = _name()
    body = asgi_server.post(
        "/api/mutation",
        {
            "path": "testapp/own_logs:chatty",
            "args": {"name": name},
            "format": "convex_encoded_json",
        },
    ).json()
    assert body == {
        "status": "success",
        "value": "ok",
        "logLines": [line.format(name=name) for line in OWN_LINES],
    }
    deadline = time.monotonic() + 5
    while "Deferred 1 job" not in asgi_server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = asgi_server.log()
    assert "Deferred 1 job" in log and "a library's record" in log, log[-2000:]


def test_prints_of_concurrent_calls_do_not_mix() -> None:
    results: dict[str, list[str]] = {}

    def call(tag: str) -> None:
        results[tag] = execute("testapp/own_logs:print_many", {"tag": tag, "n": 40}).log_lines
        connection.close()

    threads = [threading.Thread(target=call, args=(tag,)) for tag in ("a", "b", "c")]
    for t in threads:
        t.start()
    print("printed outside any call")  # by the test's own thread, while the calls run
    for t in threads:
        t.join()
    for tag in ("a", "b", "c"):
        assert results[tag] == [f"[LOG] {tag} {i}" for i in range(40)]


@pytest.fixture(scope="module")
def fresh_project_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """uvicorn (which configures only its own loggers) on settings with no LOGGING."""
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_")
    server = start_server(
        name,
        tmp_path_factory.mktemp("fresh"),
        server="uvicorn",
        settings="tests.settings_default_logging",
    )
    yield server
    server.stop()


def test_uncaught_error_is_logged_with_traceback_without_logging(
    fresh_project_server: LiveServer,
) -> None:
    marker = uuid.uuid4().hex
    body = fresh_project_server.post(
        "/api/query", {"path": "testapp/own_logs:uncaught", "args": {"marker": marker}}
    ).json()
    assert body["status"] == "error" and body["errorMessage"] == "Server Error", body
    assert body["logLines"] == []
    deadline = time.monotonic() + 5
    while f"uncaught {marker}" not in fresh_project_server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = fresh_project_server.log()
    assert "Uncaught error in testapp/own_logs:uncaught" in log, log[-2000:]
    assert "Traceback (most recent call last)" in log
    assert f"ValueError: uncaught {marker}" in log


def test_worker_logs_info_without_logging(tmp_path: Path) -> None:
    """`manage.py reactive worker` in a project with no LOGGING prints its INFO lines."""
    worker = start_worker(_db_name(), tmp_path, settings="tests.settings_default_logging")
    try:  # start_worker waited for "worker started"
        sid = execute("testapp/scheduling:schedule_bump", {"name": _name()}).unwrap()
        worker.wait_for_log(f"(row {pk_of('_scheduled_functions', sid)}, attempt 1): success")
        assert "INFO reactive.scheduler: worker started" in worker.log()
    finally:
        worker.terminate()


@pytest.mark.parametrize("debug", [False, True])
def test_network_is_refused_in_every_mode(debug: bool) -> None:
    with override_settings(DEBUG=debug, REACTIVE={}):
        out = execute("testapp:net")
    assert isinstance(out.error, NotAllowedHere), out.error
    assert "testapp:net: network I/O (socket." in out.error.message
    assert "is not allowed in a query" in out.error.message


def test_network_guard_can_be_switched_off() -> None:
    with override_settings(REACTIVE={"REFUSE_NETWORK_IN_TRANSACTIONS": False}):
        out = execute("testapp:net")
    # the connection itself is attempted (and refused by the closed port)
    assert isinstance(out.error, InternalError), out.error


def test_network_guard_setting_must_be_a_bool() -> None:
    from reactive.conf import reactive_settings
    from reactive.errors import ConfigurationError

    with override_settings(REACTIVE={"REFUSE_NETWORK_IN_TRANSACTIONS": "yes"}):
        with pytest.raises(ConfigurationError, match="REFUSE_NETWORK_IN_TRANSACTIONS"):
            assert reactive_settings.REFUSE_NETWORK_IN_TRANSACTIONS
