"""`manage.py seed_demo`: demo users, a staff superuser, channels and messages. Safe to run
again and again.

Users are made with the ORM (passwords are Django's business); channels and messages go through
the chat functions as alice, as any server-side caller would call them (`reactive.execute`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from reactive import ConvexError, api, execute
from reactive.auth import identity_from_user
from reactive.conf import reactive_settings

from ...models import Channel, Message, Profile

PASSWORD = "demo"
USERS = {"alice": "Alice", "bob": "Bob"}
ADMIN = ("admin", "admin")  # username, password: a staff superuser for /admin/
CHANNELS = ["general", "random", "scheduling"]
MESSAGES = [
    ("general", "alice", "Welcome to the reactive demo! Everything here goes through chat:*."),
    ("general", "bob", "Hi Alice. Is this really the official Convex client, talking to Django?"),
    ("general", "alice", "It is: its WebSocket sync protocol. Open a second window and post."),
    ("random", "bob", "Anyone up for lunch?"),
    ("random", "alice", "Always."),
    ("scheduling", "alice", "Try /later 10 hello: it waits below, with a Cancel button."),
    ("scheduling", "bob", "And @bot time gets an answer from a scheduled action."),
]


class Command(BaseCommand):
    help = ("Create the demo users (alice, bob), a staff superuser (admin), channels and a few "
            "messages, if missing.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        users = {}
        for username, display_name in USERS.items():
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"})
            if created or not user.check_password(PASSWORD):
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
            Profile.objects.get_or_create(user=user, defaults={"display_name": display_name})
            users[username] = user
            self.stdout.write(f"user {username!r} ({'created' if created else 'exists'})")

        username, password = ADMIN
        admin, created = User.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@example.com", "is_staff": True, "is_superuser": True})
        if created or not admin.check_password(password):
            admin.set_password(password)
            admin.save(update_fields=["password"])
        self.stdout.write(f"superuser {username!r} ({'created' if created else 'exists'})")

        alice = identity_from_user(users["alice"], reactive_settings.SESSION_ISSUER)
        channel_ids = {}
        for name in CHANNELS:
            try:
                channel_ids[name] = execute(api.chat.create_channel, {"name": name},
                                            identity=alice).unwrap()
                self.stdout.write(f"channel #{name} (created)")
            except ConvexError as exc:
                if not (isinstance(exc.data, dict) and exc.data.get("code") == "CHANNEL_EXISTS"):
                    raise
                channel_ids[name] = exc.data["channel"]
                self.stdout.write(f"channel #{name} (exists)")

        seeded = set()
        for channel, username, body in MESSAGES:
            if channel not in seeded and Message.objects.filter(
                    channel=Channel.objects.get(name=channel)).exists():
                continue  # this channel already has messages: seeded before, or in use
            seeded.add(channel)
            identity = identity_from_user(users[username], reactive_settings.SESSION_ISSUER)
            execute(api.chat.send, {"channel": channel_ids[channel], "body": body},
                    identity=identity).unwrap()
        self.stdout.write(f"messages: {sum(1 for c, *_ in MESSAGES if c in seeded)} added")

        self.stdout.write(self.style.SUCCESS(
            f"Demo ready. Log in as {' or '.join(USERS)}, password {PASSWORD!r} (or sign up at "
            f"/signup/). The admin is at /admin/: user {ADMIN[0]!r}, password {ADMIN[1]!r}."))
