"""The admin's "Tables" page (reactive.admin.table_list): every registered table with its indexes,
search and vector indexes included, for users who may view it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

pytestmark = pytest.mark.django_db

URL = "/admin/reactive/tableoverview/"


def logged_in(user: User) -> Client:
    web = Client()
    web.force_login(user)
    return web


def rows(page: str, table: str) -> str:
    """The HTML of one table's block on the page."""
    start = page.index(f'id="table-{table}"')
    return page[start : page.index("</table>", start)]


def test_the_page_lists_tables_with_their_index_kinds() -> None:
    web = logged_in(User.objects.create_superuser("admin", "a@example.com", "pw"))
    index = web.get("/admin/").content.decode()
    assert URL in index  # listed under Reactive on the admin's home page

    response = web.get(URL)
    assert response.status_code == 200
    page = response.content.decode()

    articles = rows(page, "articles")
    assert "articles_search_body" in articles and 'class="index-search"' in articles
    assert "language english; filter fields: channel, author" in articles
    assert "also answers to search_body" in articles  # the short name, listed once
    assert "articles_search_simple" in articles and "language simple" in articles

    movies = rows(page, "movies")
    assert "movies_by_embedding" in movies and 'class="index-vector"' in movies
    assert "256 dimensions, cosine; filter fields: genre, owner" in movies

    counters = rows(page, "counters")
    assert "by_id" in counters and "by_creation_time" in counters
    assert 'class="index-search"' not in counters and 'class="index-vector"' not in counters
    assert 'Writes captured</th><td colspan="3">yes' in counters

    storage = rows(page, "_storage")
    assert "(system table)" in storage
    assert 'href="/admin/reactive/storedfile/"' in storage  # the model's own admin


def test_only_users_allowed_to_view_it_see_it() -> None:
    staff = User.objects.create_user("staff", "s@example.com", "pw", is_staff=True)
    assert logged_in(staff).get(URL).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_tableoverview"))
    staff = User.objects.get(pk=staff.pk)  # permissions are cached on the instance
    assert logged_in(staff).get(URL).status_code == 200
    assert Client().get(URL).status_code == 302  # anonymous: to the login page
    assert logged_in(staff).get(f"{URL}add/").status_code == 404  # a page, not objects
