"""Every write reaches subscribers: TRUNCATE and `manage.py flush`, and writes to a model of
another app (auth.User) captured through a proxy model of the project's own app."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from tests.helpers import orm
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db(transaction=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def truncate(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {connection.ops.quote_name(table)}")


async def test_truncate_reaches_subscribers(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    text = unique("note")
    await client.mutation("testapp:add_note", {"text": text})
    qid = await client.subscribe("testapp:note_texts")
    assert text in client.results[qid]
    await orm(truncate, "testapp_note")
    await client.until(lambda: client.results.get(qid) == [])
    # the table's other writes are still captured afterwards
    await client.mutation("testapp:add_note", {"text": "after"})
    assert client.results[qid] == ["after"]
    await client.close()


async def test_flush_reaches_subscribers(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    name = unique("ch")
    await client.mutation("testapp:create_channel", {"name": name})
    channels = await client.subscribe("testapp:channel_names")
    await orm(lambda: get_user_model().objects.create_user(unique("u")))
    users = await client.subscribe("testapp:user_names")
    assert name in client.results[channels] and client.results[users]
    await orm(lambda: call_command("flush", interactive=False, verbosity=0))
    await client.until(
        lambda: client.results.get(channels) == [] and client.results.get(users) == []
    )
    await client.close()


async def test_writes_to_auth_users_reach_subscribers(asgi_server):
    client = await RawSync.connect(asgi_server.ws_url)
    qid = await client.subscribe("testapp:user_names")
    User = get_user_model()
    name = unique("user")
    user = await orm(lambda: User.objects.create_user(name, password="pw"))
    await client.until(lambda: name in client.results.get(qid, []))
    await orm(lambda: User.objects.filter(pk=user.pk).update(username=name + "-renamed"))
    await client.until(lambda: name + "-renamed" in client.results.get(qid, []))
    await orm(lambda: User.objects.filter(pk=user.pk).delete())
    await client.until(lambda: not any(n.startswith(name) for n in client.results[qid]))
    await client.close()
