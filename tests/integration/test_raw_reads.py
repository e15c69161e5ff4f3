"""Reads that bypass ctx.db (the ORM, raw SQL) record whole-table reads and so stay live."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from reactive.functions.executor import execute
from reactive.ids import encode_id
from reactive.readset import TableRead
from tests.helpers import in_mutation, in_query
from tests.sync_client import RawSync
from tests.testapp.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def table_reads(outcome) -> set[str]:
    return {r.table for r in outcome.reads.reads if isinstance(r, TableRead)}


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


async def test_orm_and_raw_sql_queries_update_live(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    channel = await client.mutation("testapp:create_channel", {"name": unique("raw")})
    orm = await client.subscribe("testapp/raw_reads:count_orm", {"channel": channel})
    raw = await client.subscribe("testapp/raw_reads:count_sql", {"channel": channel})
    assert client.results[orm] == 0 and client.results[raw] == 0
    await client.mutation("testapp/messages:send", {"channel": channel, "body": "one"})
    # read your writes: the Transition that resolves the mutation carries both new counts
    assert client.results[orm] == 1 and client.results[raw] == 1
    await client.mutation("testapp/messages:send", {"channel": channel, "body": "two"})
    assert client.results[orm] == 2 and client.results[raw] == 2
    await client.close()


def test_an_orm_aggregate_records_a_whole_table_read():
    out = in_query(lambda ctx: Message.objects.count())
    assert out.error is None and TableRead("messages") in out.reads.reads


def test_raw_sql_records_every_registered_table_it_reads():
    out = in_query(
        lambda ctx: sql(
            'SELECT count(*) FROM public.testapp_message m JOIN "testapp_channel" c '
            "ON c.id = m.channel_id WHERE c.name <> 'testapp_counter'"
        )
    )
    assert out.error is None
    assert table_reads(out) == {"messages", "channels"}  # not counters: that was a string


def test_a_join_through_the_orm_reads_both_tables():
    out = execute("testapp/raw_reads:count_by_channel_name", {"name": "nope"})
    assert out.value == 0 and table_reads(out) == {"messages", "channels"}


def test_each_table_is_recorded_once():
    out = in_query(lambda ctx: [Message.objects.count() for _ in range(5)])
    assert out.reads.reads.count(TableRead("messages")) == 1


def test_ctx_db_reads_stay_precise():
    channel = encode_id("channels", Channel.objects.create(name=unique("p")).pk)
    out = in_query(
        lambda ctx: (
            ctx.db.get("channels", channel),
            ctx.db.query("messages").order("desc").take(3),
        )
    )
    assert out.error is None and len(out.reads) == 2 and not table_reads(out)
    out = execute("testapp/messages:list", {"channel": channel})
    assert out.error is None and out.reads.reads and not table_reads(out)


def test_tables_that_are_not_registered_are_ignored():
    out = in_query(lambda ctx: sql("SELECT count(*) FROM django_content_type"))
    assert out.error is None and not table_reads(out)


def test_a_failing_raw_read_still_records_its_tables():
    out = in_query(lambda ctx: sql("SELECT no_such_column FROM testapp_counter"))
    assert out.error is not None and TableRead("counters") in out.reads.reads


def test_mutations_record_reads_but_not_their_write_targets():
    name = unique("m")
    out = in_mutation(lambda ctx: Channel.objects.create(name=name).pk)
    assert out.error is None and not table_reads(out)  # INSERT ... RETURNING: a write only
    out = in_mutation(
        lambda ctx: sql(
            "INSERT INTO testapp_counter (name, value, creation_time) "
            "SELECT name, 0, 0 FROM testapp_channel WHERE name = %s RETURNING id",
            [name],
        )
    )
    assert out.error is None and table_reads(out) == {"channels"}
    out = in_mutation(lambda ctx: Message.objects.filter(channel__name=name).count())
    assert out.error is None and table_reads(out) == {"messages", "channels"}
