"""The chat page and the sign-up page. Everything on the chat page comes from the chat
functions, called from the browser by the official Convex client (see demo_project/web/src)."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .models import Profile


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/index.html")


def signup(request: HttpRequest) -> HttpResponse:
    """Django's own UserCreationForm; the new user gets a chat profile and is logged in."""
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            Profile.objects.create(user=user, display_name=user.get_username()[:64])
        login(request, user)
        return redirect("chat")
    return render(request, "registration/signup.html", {"form": form})
