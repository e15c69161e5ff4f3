"""Django models for the Convex tables of convex/schema.ts.

Written by `manage.py reactive convex-schema`; edit them as your own from now on.
Each model is the table of the same name for ctx.db; `creation_time` is `_creationTime`.
"""

from django.db import models

from reactive import table
from reactive.models import ReactiveModel


@table("authors")
class Authors(ReactiveModel):
    name = models.TextField(blank=True)
    color = models.TextField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "authors"
        indexes = [
            models.Index(fields=["name"], name="authors_by_name"),
        ]


@table(
    "messages",
    index_names={"by_channel_and_author_and_likes": "messages_by_channel_and_a_c418"},
)
class Messages(ReactiveModel):
    channel = models.TextField(blank=True)
    author = models.ForeignKey(
        "Authors",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    body = models.TextField(blank=True)
    likes = models.FloatField()

    class Meta:
        verbose_name_plural = "messages"
        indexes = [
            models.Index(fields=["channel"], name="messages_by_channel"),
            models.Index(
                fields=["channel", "author", "likes"],
                name="messages_by_channel_and_a_c418",
            ),
        ]


@table("typing")
class Typing(ReactiveModel):
    channel = models.TextField(blank=True)
    author = models.ForeignKey(
        "Authors",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    until = models.FloatField()

    class Meta:
        verbose_name_plural = "typing"
        indexes = [
            models.Index(fields=["channel", "until"], name="typing_by_channel_and_until"),
        ]
