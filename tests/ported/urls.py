"""URLs of the ported app: Convex's HTTP API and sync endpoint, nothing else (its front end is
served apart, as a Convex app's is)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("", include("reactive.urls"))]
