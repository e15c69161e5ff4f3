"""The admin as reactive's dashboard: the index lists every reactive page, and times show as
dates in the current time zone, in reactive's pages and through `ReactiveModelAdmin`."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.contrib.auth.models import User
from django.test import Client, RequestFactory, override_settings

from reactive.admin import ReactiveModelAdmin
from reactive.models import ScheduledFunction
from tests.testapp.models import Channel

pytestmark = pytest.mark.django_db

DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+")


@pytest.fixture
def root() -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw")


def test_the_index_lists_the_reactive_pages(root: User) -> None:
    web = Client()
    web.force_login(root)
    response = web.get("/admin/")
    assert response.status_code == 200
    [app] = [a for a in response.context["app_list"] if a["app_label"] == "reactive"]
    names = {m["name"]: m["admin_url"] for m in app["models"]}
    assert names == {
        "Activity": "/admin/reactive/functionstat/",
        "Cron jobs": "/admin/reactive/cronrun/",
        "Functions": "/admin/reactive/functionoverview/",
        "Scheduled functions": "/admin/reactive/scheduledfunction/",
        "Stored files": "/admin/reactive/storedfile/",
        "Tables": "/admin/reactive/tableoverview/",
    }
    for url in names.values():
        assert web.get(url).status_code == 200, url


def test_times_show_as_dates_in_the_current_time_zone(root: User) -> None:
    web = Client()
    web.force_login(root)
    row = ScheduledFunction.objects.create(
        name="testapp/scheduling:bump", args=[{}], kind="mutation", scheduled_time=1796222023611.4
    )
    page = web.get("/admin/reactive/scheduledfunction/").content.decode()
    assert "2026-12-02 14:33:43 UTC" in page and "1796222023611" not in page
    with override_settings(TIME_ZONE="Europe/Paris"):
        page = web.get(f"/admin/reactive/scheduledfunction/{row.pk}/change/").content.decode()
    assert "2026-12-02 15:33:43 CET" in page


def test_reactive_model_admin_shows_creation_time_as_a_date(root: User) -> None:
    channel = Channel.objects.create(name="general", topic="")
    channel.creation_time = 1796222023611.4128
    channel.save()

    class ChannelAdmin(ReactiveModelAdmin):
        list_display = ("name", "creation_time")

    site = admin.AdminSite(name="dates")
    site.register(Channel, ChannelAdmin)
    model_admin = site.get_model_admin(Channel)
    request = RequestFactory().get("/")
    request.user = root
    assert model_admin.get_list_display(request) == ["name", "created"]
    assert "created" in model_admin.get_readonly_fields(request, channel)
    changelist = model_admin.get_changelist_instance(request)
    [shown] = [row for row in changelist.result_list if row.pk == channel.pk]
    cells = "".join(items_for_result(changelist, shown, None))  # the row the list page renders
    assert "2026-12-02 14:33:43 UTC" in cells and "1796222023611" not in cells
    assert DATE.fullmatch(model_admin.created(channel))
