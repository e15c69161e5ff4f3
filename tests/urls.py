from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from tests.testapp.http import cors_http, http, small_http, strict_http

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("reactive.urls")),
    path("", include("tests.testapp.urls")),
    path("", include(http.urls)),  # HTTP actions, as Convex serves convex/http.ts
    path("cors/", include(cors_http.urls)),
    path("", include(strict_http.urls)),
    path("small/", include(small_http.urls)),
]
