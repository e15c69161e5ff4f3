"""The scheduler in the Django admin: scheduled functions and crons (reactive.admin)."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django.models import ProcrastinateJob

from reactive.models import CronRun, ScheduledFunction
from reactive.scheduler import cron_table
from reactive.scheduler.crons import discover
from reactive.testing import run_scheduled
from tests import scheduler_support as support
from tests.scheduler_support import BUMP_PATH, DAILY, EVERY, S, doc, pk, unique

pytestmark = pytest.mark.django_db(transaction=True)

# the fixtures these tests take (pytest finds fixtures among a module's names)
_clock = support._clock  # autouse: every test starts and ends on the real clock
job_baseline = support.job_baseline


# -- admin -----------------------------------------------------------------------------------


@pytest.fixture
def admin_client():
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    web = Client()
    web.force_login(user)
    return web


SF_URL = "/admin/reactive/scheduledfunction/"


CRON_URL = "/admin/reactive/cronrun/"


def test_admin_lists_and_filters_scheduled_functions(client, admin_client):
    name = unique("admin")
    done = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    assert run_scheduled() == ["success"]
    pending = client.mutation(S.schedule_bump, {"name": name, "delay": 60_000})

    response = admin_client.get(SF_URL)
    assert response.status_code == 200
    assert {o.pk for o in response.context["cl"].result_list} == {pk(done), pk(pending)}
    for state, want in (("pending", pending), ("success", done)):
        response = admin_client.get(SF_URL, {"state__exact": state})
        assert response.status_code == 200
        assert [o.pk for o in response.context["cl"].result_list] == [pk(want)]
    response = admin_client.get(SF_URL, {"due": "hour"})
    assert [o.pk for o in response.context["cl"].result_list] == [pk(pending)]
    response = admin_client.get(SF_URL, {"due": "later"})
    assert list(response.context["cl"].result_list) == []
    response = admin_client.get(SF_URL, {"due": "past"})
    assert [o.pk for o in response.context["cl"].result_list] == [pk(done)]

    response = admin_client.get(f"{SF_URL}{pk(done)}/change/")
    assert response.status_code == 200  # read-only view


def test_admin_cancel_action(client, admin_client):
    name = unique("admin-cancel")
    done = client.mutation(S.schedule_bump, {"name": name, "delay": 0})
    assert run_scheduled() == ["success"]
    pending = client.mutation(S.schedule_bump, {"name": name, "delay": 60_000})
    response = admin_client.post(
        SF_URL, {"action": "cancel", "_selected_action": [pk(done), pk(pending)]}
    )
    assert response.status_code == 302
    assert doc(client, pending)["state"] == {"kind": "canceled"}
    assert doc(client, done)["state"] == {"kind": "success"}
    row = ScheduledFunction.objects.get(pk=pk(pending))
    assert ProcrastinateJob.objects.get(id=row.job_id).status == "cancelled"
    messages = [str(m) for m in admin_client.get(SF_URL).context["messages"]]
    assert messages and messages[0].startswith("Canceled 1 scheduled function(s)")


def test_admin_crons_and_run_now(client, admin_client):
    cron_table.register(discover())
    response = admin_client.get(CRON_URL)
    assert response.status_code == 200
    assert {o.pk for o in response.context["cl"].result_list} == {EVERY, DAILY}
    response = admin_client.post(CRON_URL, {"action": "run_now", "_selected_action": [DAILY]})
    assert response.status_code == 302
    (run,) = ScheduledFunction.objects.filter(cron=DAILY)
    assert run.state == "pending"
    assert ScheduledFunction.objects.filter(cron=EVERY).count() == 0
    response = admin_client.get(CRON_URL)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [f"{DAILY}: scheduled"]


def test_admin_refuses_add_change_and_delete(client, admin_client):
    id = client.mutation(S.schedule_bump, {"name": unique("admin-ro"), "delay": 60_000})
    cron_table.register(discover())
    assert admin_client.get(f"{SF_URL}add/").status_code == 403
    assert admin_client.get(f"{CRON_URL}add/").status_code == 403
    assert admin_client.get(f"{SF_URL}{pk(id)}/delete/").status_code == 403
    assert admin_client.post(f"{SF_URL}{pk(id)}/change/", {"name": "x"}).status_code == 403
    assert admin_client.post(f"{SF_URL}{pk(id)}/delete/", {"post": "yes"}).status_code == 403
    # the bulk delete action is not offered: posting it deletes nothing
    response = admin_client.get(SF_URL)
    assert response.context["action_form"].fields["action"].choices == [
        ("", "---------"),
        ("cancel", "Cancel the selected scheduled functions"),
        ("run_now", "Run the selected pending scheduled functions now"),
    ]
    admin_client.post(SF_URL, {"action": "delete_selected", "_selected_action": [pk(id)]})
    assert ScheduledFunction.objects.get(pk=pk(id)).name == BUMP_PATH
    daily_url = f"{CRON_URL}{DAILY.replace(' ', '_20')}/delete/"
    assert admin_client.get(daily_url).status_code == 403
    assert CronRun.objects.count() == 2
