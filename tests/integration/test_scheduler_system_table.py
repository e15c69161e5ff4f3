"""`_scheduled_functions` as a read-only system table (reactive.scheduler.system_table)."""

from __future__ import annotations

import pytest

from reactive import ids
from reactive.errors import InvalidId, NotAllowedHere, QueryError
from reactive.testing import run_scheduled
from tests import scheduler_support as support
from tests.helpers import in_mutation
from tests.scheduler_support import BUMP_PATH, TABLE, S, doc, unique

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
_clock = support._clock  # autouse: every test starts and ends on the real clock
job_baseline = support.job_baseline


# -- the system table ------------------------------------------------------------------------


def test_system_table_get_query_and_paginate(client):
    name = unique("system")
    first = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    second = client.mutation(S.schedule_bump, {"name": name, "delay": 10_000})
    third = client.mutation(S.schedule_bump, {"name": name, "delay": 20_000})
    assert run_scheduled() == ["success"]

    listed = client.query(S.scheduled, {})
    assert [d["_id"] for d in listed] == [third, second, first]  # newest first
    assert [d["state"]["kind"] for d in listed] == ["pending", "pending", "success"]
    assert listed[2] == doc(client, first)
    assert client.query(S.scheduled, {"name": BUMP_PATH}) == listed
    assert client.query(S.scheduled, {"name": "testapp/scheduling:other"}) == []

    page = client.query(S.pending_page, {"paginationOpts": {"numItems": 10, "cursor": None}})
    assert [d["_id"] for d in page["page"]] == [second, third]
    assert page["isDone"] is True
    page = client.query(S.pending_page, {"paginationOpts": {"numItems": 1, "cursor": None}})
    assert [d["_id"] for d in page["page"]] == [second] and page["isDone"] is False
    page = client.query(
        S.pending_page, {"paginationOpts": {"numItems": 1, "cursor": page["continueCursor"]}}
    )
    assert [d["_id"] for d in page["page"]] == [third]

    assert client.query(S.scheduled_one, {"id": ids.encode_id(TABLE, 987_654_321)}) is None
    out = client.call(S.scheduled_one, {"id": ids.encode_id("counters", 1)})
    assert isinstance(out.error, InvalidId)
    assert (
        "ctx.db.system.get: argument `id` ('" in out.error.message
        and "is an id of table 'counters', not of table '_scheduled_functions'" in out.error.message
    )


@pytest.mark.parametrize(
    "how, message",
    [
        (
            "db_query",
            "'_scheduled_functions' is a system table: read it through "
            "ctx.db.system.get / ctx.db.system.query",
        ),
        ("system_user_table", "'messages' is not a system table: use ctx.db"),
        ("unknown", "there is no system table '_nothing'"),
    ],
)
def test_system_table_misuse(client, how, message):
    out = client.call(S.read_system_wrongly, {"how": how})
    assert isinstance(out.error, QueryError), out.error
    assert message in out.error.message


def test_system_table_cannot_be_written(client):
    name = unique("write")
    id = client.mutation(S.schedule_bump, {"name": name, "delay": 10_000})
    out = client.call(S.write_system, {"id": id})
    assert isinstance(out.error, QueryError), out.error
    assert "'_scheduled_functions' is a system table" in out.error.message
    assert "cannot be written" in out.error.message
    assert doc(client, id)["name"] == BUMP_PATH

    out = in_mutation(lambda ctx: ctx.db.system.patch(TABLE, id, {"name": "x"}))
    assert isinstance(out.error, NotAllowedHere)
    assert "system tables are read-only" in out.error.message
