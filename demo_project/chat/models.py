"""The chat app's tables: "channels", "messages", "users" (one profile per Django user) and
"reads" (when each user last read each channel, for the unread counts).

The Django user model itself is not registered as a table: a document has every concrete field
of its model, so `auth.User` documents would carry the password hash. The "users" table is a
`Profile` instead, holding only what clients may see.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from reactive import table
from reactive.models import ReactiveModel
from reactive.search import SearchIndex

MAX_BODY = 2000


@table("users")
class Profile(ReactiveModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="chat_profile")
    display_name = models.CharField(max_length=64)

    class Meta:
        # reactive reads through named indexes only. The one-to-one's unique index backs it.
        indexes = [models.Index(fields=["user"], name="by_user")]

    def __str__(self) -> str:
        return self.display_name


@table("channels")
class Channel(ReactiveModel):
    name = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["name"], name="by_name")]

    def __str__(self) -> str:
        return self.name


@table("messages")
class Message(ReactiveModel):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    # None: the bot wrote it (chat:bot_reply)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+", null=True, blank=True)
    body = models.TextField(validators=[MaxLengthValidator(MAX_BODY)], blank=True)
    # A file sent with the message: its `_storage` id (chat:generate_upload_url, then chat:send)
    attachment = models.CharField(max_length=64, null=True, blank=True)
    attachment_name = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [
            # Every reactive index ends with _creationTime (and the id), as in Convex, so this
            # index's key is (channel, _creationTime, _id). Naming "creation_time" in `fields`
            # would get the index silently dropped (reactive keeps indexes over non-system fields).
            models.Index(fields=["channel"], name="by_channel"),
            # chat:search: full-text search on the body, optionally within one channel
            SearchIndex(name="messages_search_body", search_field="body",
                        filter_fields=["channel"]),
        ]

    def __str__(self) -> str:
        return self.body[:50]


@table("reads")
class Read(ReactiveModel):
    """When a user last read a channel: messages after `last_read` count as unread."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    last_read = models.FloatField()  # ms since the epoch, like _creationTime

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="one_read_per_user")]
        indexes = [models.Index(fields=["user", "channel"], name="by_user_channel")]

    def __str__(self) -> str:
        moment = dt.datetime.fromtimestamp(self.last_read / 1000.0, tz=dt.UTC)  # not a raw float
        return f"user {self.user_id} read channel {self.channel_id} at {moment:%Y-%m-%d %H:%M} UTC"
