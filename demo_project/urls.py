"""URLs of the demo project: the chat page, Convex's HTTP API (/api/...), sign-up, login and
the admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .chat import views as chat_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("signup/", chat_views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),  # POST only (Django 5)
    path("", include("reactive.urls")),  # /api/query, /api/mutation, /api/action, ...
    path("", chat_views.index, name="chat"),
]
