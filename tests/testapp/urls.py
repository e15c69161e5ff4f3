from __future__ import annotations

from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .models import Message


@csrf_exempt
def test_login(request: HttpRequest) -> HttpResponse:
    """Log in as a (created-on-demand) user: for testing the session identity."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username=request.GET["username"], defaults={"email": request.GET["username"] + "@x.test"}
    )
    login(request, user)
    return JsonResponse({"ok": True})


def plain_latest(request: HttpRequest) -> JsonResponse:
    """A plain Django view doing the same read as testapp/messages:latest (benchmark baseline)."""
    rows = Message.objects.order_by("-creation_time")[:10]
    return JsonResponse({"value": [{"body": m.body, "author": m.author} for m in rows]})


urlpatterns = [
    path("test/login", test_login),
    path("test/plain_latest", plain_latest),
]
