"""The tables of convex_src/convex/schema.ts, as `manage.py reactive convex-schema` writes them:
v.string() is a TextField, v.number() a FloatField, v.optional(...) null=True, v.id("t") a
foreign key without a database constraint (Convex lets an id dangle), each index a named
Meta.indexes entry, and ReactiveModel's creation_time is `_creationTime`."""

from __future__ import annotations

from django.db import models

from reactive import table
from reactive.models import ReactiveModel


@table("authors")
class Author(ReactiveModel):
    name = models.TextField()  # v.string()
    color = models.TextField(null=True, blank=True)  # v.optional(v.string())

    class Meta:
        indexes = [models.Index(fields=["name"], name="authors_by_name")]


@table("messages")
class Message(ReactiveModel):
    channel = models.TextField()  # v.string()
    author = models.ForeignKey(  # v.id("authors")
        Author, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    body = models.TextField()  # v.string()
    likes = models.FloatField()  # v.number()

    class Meta:
        indexes = [
            models.Index(fields=["channel"], name="messages_by_channel"),
            # Convex's "by_channel_and_author_and_likes": 31 characters, and Django allows 30
            # (models.E034). Until models can carry a Convex name of their own, this index is
            # reached as "by_chan_author_likes".
            models.Index(fields=["channel", "author", "likes"], name="by_chan_author_likes"),
        ]


@table("typing")
class Typing(ReactiveModel):
    channel = models.TextField()  # v.string()
    author = models.ForeignKey(  # v.id("authors")
        Author, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    until = models.FloatField()  # v.number()

    class Meta:
        indexes = [models.Index(fields=["channel", "until"], name="typing_by_channel_and_until")]
