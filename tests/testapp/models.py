"""Models used across the tests: each registered as a table."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import User
from django.db import models
from pgvector.django import VectorField

from reactive import register_table, table
from reactive.models import ReactiveModel
from reactive.search import SearchIndex, VectorIndex


@table("channels")
class Channel(ReactiveModel):
    name = models.CharField(max_length=64, unique=True)
    topic = models.CharField(max_length=200, default="")


@table("messages")
class Message(ReactiveModel):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    author = models.CharField(max_length=64)
    body = models.TextField()
    score = models.IntegerField(default=0)
    big = models.BigIntegerField(null=True, blank=True)
    payload = models.BinaryField(null=True, blank=True)
    rating = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["channel"], name="by_channel"),
            models.Index(fields=["author", "score"], name="by_author_score"),
        ]


@table("counters")
class Counter(ReactiveModel):
    name = models.CharField(max_length=64, unique=True)
    value = models.IntegerField(default=0)

    class Meta:
        # `testapp/bench:*` reads counters through it: precise invalidation per name
        indexes = [models.Index(fields=["name"], name="by_name")]


@table("notes", creation_time="created_at")
class Note(models.Model):
    """A UUID primary key and a DateTimeField as `_creationTime`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.CharField(max_length=100)
    done = models.BooleanField(default=False)
    kind = models.CharField(max_length=10, choices=[("a", "A"), ("b", "B")], default="a")


class AppUser(User):
    """auth.User as the `users` table. The table is this proxy, so its capture triggers are
    declared here and `makemigrations` writes them into this app, not into django.contrib.auth."""

    class Meta:
        proxy = True


register_table(AppUser, "users", creation_time="date_joined", exclude=("password",))


# --- row-level rules (tests/integration/test_rules*.py; rules in tests/testapp/rules.py) ------


@table("teams")
class Team(ReactiveModel):
    """Its Python read rule raises for a team named "boom" (a rule that fails)."""

    name = models.CharField(max_length=64)


@table("members")
class Member(ReactiveModel):
    """``user`` (an identity's subject) belongs to ``team``: posts of the team are readable."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(fields=["team"], name="by_team"),
            models.Index(fields=["user"], name="by_user"),
        ]


@table("posts")
class Post(ReactiveModel):
    """Read rule as a Django Q (pushed into SQL): public posts, one's own, one's teams'.
    ``salary`` is hidden from every caller but admins."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True)
    owner = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    public = models.BooleanField(default=False)
    score = models.IntegerField(default=0)
    salary = models.CharField(max_length=200, default="")

    class Meta:
        indexes = [
            models.Index(fields=["team"], name="posts_by_team"),
            models.Index(fields=["owner"], name="posts_by_owner"),
            models.Index(fields=["salary"], name="posts_by_salary"),
            models.Index(fields=["score"], name="posts_by_score"),
        ]


@table("diaries")
class Diary(ReactiveModel):
    """Read rule in Python (filtered after the read): one's own entries and shared ones."""

    owner = models.CharField(max_length=64)
    body = models.TextField()
    shared = models.BooleanField(default=False)
    score = models.IntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["owner"], name="diaries_by_owner"),
            models.Index(fields=["score"], name="diaries_by_score"),
        ]


# -- triggers (tests/testapp/triggers.py keeps topics.reply_count and the audit table) --------


@table("topics")
class Topic(ReactiveModel):
    title = models.CharField(max_length=100)
    reply_count = models.IntegerField(default=0)


@table("replies")
class Reply(ReactiveModel):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE)
    body = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["topic"], name="replies_by_topic")]


@table("audit")
class AuditEntry(ReactiveModel):
    """One row per change a trigger or an on_success saw (subject: table, operation, id)."""

    subject = models.CharField(max_length=100)
    operation = models.CharField(max_length=20)
    doc = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["doc"], name="audit_by_doc")]


@table("links")
class Link(ReactiveModel):
    """A trigger inserts link n+1 after link n while n < stop: a cascade as deep as asked."""

    n = models.IntegerField()
    stop = models.IntegerField()


# -- full-text search (tests/integration/test_search*.py, functions/search.py) -----------------


@table("articles")
class Article(ReactiveModel):
    """Two search indexes over ``body``: English (stemming, stop words) with filter fields, and
    "simple" (lowercased words only). ``score`` is in no index."""

    channel = models.CharField(max_length=64)
    author = models.CharField(max_length=64, default="")
    body = models.TextField()
    score = models.IntegerField(default=0)

    class Meta:
        indexes = [
            SearchIndex(
                name="articles_search_body",
                search_field="body",
                filter_fields=["channel", "author"],
                language="english",
            ),
            SearchIndex(name="articles_search_simple", search_field="body", language="simple"),
        ]


@table("memos")
class Memo(ReactiveModel):
    """Searchable, with a Q read rule (tests/testapp/rules.py): public memos and one's own."""

    owner = models.CharField(max_length=64)
    public = models.BooleanField(default=False)
    body = models.TextField()

    class Meta:
        indexes = [SearchIndex(name="memos_search_body", search_field="body", language="english")]


# -- vector search (tests/integration/test_vector_*.py; embeddings: tests/embeddings.py) -------


@table("movies")
class Movie(ReactiveModel):
    """A 256-dimensional cosine index filtered by genre and owner; rules hide draft movies of
    other owners (tests/testapp/rules.py)."""

    title = models.CharField(max_length=200)
    genre = models.CharField(max_length=32)
    owner = models.CharField(max_length=64, default="")
    draft = models.BooleanField(default=False)
    year = models.IntegerField(default=2000)
    embedding = VectorField(dimensions=256, null=True)

    class Meta:
        indexes = [
            VectorIndex(
                name="movies_by_embedding",
                vector_field="embedding",
                dimensions=256,
                filter_fields=["genre", "owner"],
            ),
        ]


@table("points")
class Point(ReactiveModel):
    """Small vectors with an l2 and an inner-product index, for exact scores."""

    tag = models.CharField(max_length=32, default="")
    vec = VectorField(dimensions=3)

    class Meta:
        indexes = [
            VectorIndex(
                name="points_by_l2",
                vector_field="vec",
                dimensions=3,
                distance="l2",
                filter_fields=["tag"],
            ),
            VectorIndex(name="points_by_ip", vector_field="vec", dimensions=3, distance="ip"),
            VectorIndex(name="points_by_cosine", vector_field="vec", dimensions=3),
        ]


# -- file storage (tests/integration/test_storage*.py, functions/files.py) -------------------


@table("attachments")
class Attachment(ReactiveModel):
    """A file a user attached: its name and its `_storage` id (file storage tests)."""

    name = models.CharField(max_length=200)
    file = models.CharField(max_length=64)


# -- import of a Convex export (tests/integration/test_convex_export.py) ----------------------


@table("folders")
class Folder(ReactiveModel):
    """What references in a Convex export look like: to its own table (``parent``), to another
    one or none (``channel``), ids inside a JSON array (``related``) and a `_storage` id in a
    string field (``icon``)."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE)
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.SET_NULL)
    related = models.JSONField(default=list, blank=True)
    icon = models.CharField(max_length=64, default="", blank=True)
