"""The chat app's tables: "channels", "messages" and "users" (one profile per Django user).

The Django user model itself is not registered as a table: a document has every concrete field
of its model, so `auth.User` documents would carry the password hash. The "users" table is a
`Profile` instead, holding only what clients may see.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from reactive import table
from reactive.models import ReactiveModel

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
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+")
    body = models.TextField(validators=[MaxLengthValidator(MAX_BODY)])

    class Meta:
        # Every reactive index ends with _creationTime (and the id), as in Convex, so this index's
        # key is (channel, _creationTime, _id). Naming "creation_time" in `fields` would get the
        # index silently dropped by reactive (it only keeps indexes over non-system fields).
        indexes = [models.Index(fields=["channel"], name="by_channel")]

    def __str__(self) -> str:
        return self.body[:50]
