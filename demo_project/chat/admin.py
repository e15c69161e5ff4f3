"""Admin for the chat tables (writes made here bypass reactive's functions)."""

from __future__ import annotations

from django.contrib import admin

from .models import Channel, Message, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "creation_time"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["channel", "author", "body", "creation_time"]
    list_filter = ["channel"]
