"""URL patterns of the HTTP API: `path("", include("reactive.urls"))` in the project's urls.py.

A leading double slash (`http://host//api/query`, from a client address with a trailing slash)
is accepted, as the official clients concatenate without normalising.
"""

from __future__ import annotations

from django.urls import re_path

from . import views
from .storage import endpoints as storage_endpoints

app_name = "reactive"

urlpatterns = [
    re_path(r"^(?:/*)api/query/?$", views.query_view, name="query"),
    re_path(r"^(?:/*)api/query_ts/?$", views.query_ts_view, name="query_ts"),
    re_path(r"^(?:/*)api/query_at_ts/?$", views.query_at_ts_view, name="query_at_ts"),
    re_path(r"^(?:/*)api/mutation/?$", views.mutation_view, name="mutation"),
    re_path(r"^(?:/*)api/action/?$", views.action_view, name="action"),
    re_path(r"^(?:/*)api/function/?$", views.function_view, name="function"),
    re_path(r"^(?:/*)api/auth/token/?$", views.token_view, name="auth_token"),
    re_path(r"^(?:/*)api/storage/upload/?$", storage_endpoints.upload_view, name="storage_upload"),
    re_path(
        r"^(?:/*)api/storage/(?P<storage_id>[a-z0-9]+)$",
        storage_endpoints.serve_view,
        name="storage_file",
    ),
    # the WebSocket routes (reactive.routing), reached over HTTP: a 426 naming the asgi.py fix
    re_path(r"^(?:/*)api/sync$", views.sync_over_http_view, name="sync_over_http"),
    re_path(
        r"^(?:/*)api/(?P<client_version>[0-9][^/]*)/sync$",
        views.sync_over_http_view,
        name="sync_over_http_versioned",
    ),
    re_path(r"^(?:/*)api/run/(?P<fn_path>[A-Za-z0-9_/.\-]+)$", views.run_view, name="run"),
]
