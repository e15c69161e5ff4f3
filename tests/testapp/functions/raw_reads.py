"""Functions at `testapp/raw_reads:<name>`: reads that bypass ctx.db (the ORM and raw SQL)."""

from __future__ import annotations

from django.db import connection

from reactive import query, v
from reactive.ids import pk_of
from tests.testapp.models import Message


@query
def count_orm(ctx, channel: v.id("channels")) -> int:
    """An ORM aggregate: no ctx.db read at all."""
    return Message.objects.filter(channel_id=pk_of("channels", channel)).count()


@query
def count_sql(ctx, channel: v.id("channels")) -> int:
    """Raw SQL on Django's connection, table name unquoted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM testapp_message WHERE channel_id = %s",
            [pk_of("channels", channel)],
        )
        return cursor.fetchone()[0]


@query
def count_by_channel_name(ctx, name: str) -> int:
    """A join through the ORM: reads messages and channels."""
    return Message.objects.filter(channel__name=name).count()
