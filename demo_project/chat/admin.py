"""Admin for the chat tables (writes made here bypass reactive's functions)."""

from __future__ import annotations

from django.contrib import admin

from .models import Channel, Message, Profile, Read


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "creation_time"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["channel", "author", "body", "attachment_name", "creation_time"]
    list_filter = ["channel"]


@admin.register(Read)
class ReadAdmin(admin.ModelAdmin):
    list_display = ["user", "channel", "last_read"]
