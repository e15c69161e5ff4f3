"""App config of the chat app: its functions live at `chat:<name>` (the label is "chat")."""

from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "demo_project.chat"
    label = "chat"
    verbose_name = "Chat"
    default_auto_field = "django.db.models.BigAutoField"
