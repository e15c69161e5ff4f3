"""`_storage` in the Django admin: read-only, browsable, downloads for staff (reactive.admin)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from reactive import ids
from reactive.models import StoredFile
from tests.storage_support import F

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/admin/reactive/storedfile/"


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.REACTIVE = {**settings.REACTIVE, "STORAGE": {"base_url": "https://files.test"}}


def logged_in(user: User) -> Client:
    web = Client()
    web.force_login(user)
    return web


def test_staff_browse_and_download_stored_files(client):
    id = client.action(F + "store_text", {"text": "<b>admin bytes</b>", "contentType": "text/html"})
    pk = ids.pk_of("_storage", id)
    web = logged_in(User.objects.create_superuser("admin", "a@example.com", "pw"))

    listing = web.get(URL)
    assert listing.status_code == 200
    assert id in listing.content.decode() and "text/html" in listing.content.decode()
    download = f"{URL}{pk}/download/"
    assert f'href="{download}"' in listing.content.decode()
    page = web.get(f"{URL}{pk}/change/")
    assert page.status_code == 200 and StoredFile.objects.get(pk=pk).sha256 in page.content.decode()

    got = web.get(download)
    assert got.status_code == 200 and b"".join(got.streaming_content) == b"<b>admin bytes</b>"
    assert got["Content-Type"] == "text/html"
    assert got["Content-Disposition"].startswith("attachment;")

    assert web.get(f"{URL}add/").status_code == 403  # read-only
    assert web.post(f"{URL}{pk}/delete/").status_code == 403
    assert web.get(f"{URL}{10**9}/download/").status_code == 404


def test_downloads_need_staff_with_the_view_permission(client):
    id = client.action(F + "store_text", {"text": "secret"})
    download = f"{URL}{ids.pk_of('_storage', id)}/download/"
    anonymous = Client().get(download)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    plain = logged_in(User.objects.create_user("plain", "p@example.com", "pw"))
    assert plain.get(download).status_code == 302  # not staff: the admin's login page
    staff = User.objects.create_user("staff", "s@example.com", "pw", is_staff=True)
    assert logged_in(staff).get(download).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_storedfile"))
    allowed = logged_in(User.objects.get(pk=staff.pk)).get(download)
    assert allowed.status_code == 200 and b"".join(allowed.streaming_content) == b"secret"
