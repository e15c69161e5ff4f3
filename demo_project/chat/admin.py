"""Admin for the chat tables (writes made here bypass reactive's functions).

`ReactiveModelAdmin` shows ``creation_time`` and ``last_read`` (ms since the epoch) as dates."""

from __future__ import annotations

from django.contrib import admin

from reactive.admin import ReactiveModelAdmin

from .models import Channel, Message, Profile, Read


@admin.register(Profile)
class ProfileAdmin(ReactiveModelAdmin):
    list_display = ["display_name", "user", "creation_time"]


@admin.register(Channel)
class ChannelAdmin(ReactiveModelAdmin):
    list_display = ["name", "created_by", "creation_time"]


@admin.register(Message)
class MessageAdmin(ReactiveModelAdmin):
    list_display = ["channel", "author", "body", "attachment_name", "creation_time"]
    list_filter = ["channel"]


@admin.register(Read)
class ReadAdmin(ReactiveModelAdmin):
    list_display = ["user", "channel", "last_read"]
    ms_time_fields = ("last_read",)
