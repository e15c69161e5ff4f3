"""The admin's function browser under hostile use: who may run as whom, arguments the parser
cannot take, a function that raises, and what a page echoes back being escaped."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connections
from django.test import Client, RequestFactory

from reactive.admin import ReactiveModelAdmin
from reactive.admin.scheduler import CronRunAdmin
from reactive.clock import now_ms
from reactive.functions.executor import execute
from reactive.models import CronRun, ScheduledFunction
from reactive.observe import stats
from reactive.scheduler import cron_table
from reactive.scheduler.crons import discover
from tests.sync_client import RawSync
from tests.testapp.models import Channel, Message

pytestmark = pytest.mark.django_db

URL = "/admin/reactive/functionoverview/"
EVERY = "bump every second"  # tests/testapp/crons.py


def _login(user: User) -> Client:
    web = Client(enforce_csrf_checks=True)
    web.force_login(user)
    return web


def _post(web: Client, path: str, data: dict[str, Any]) -> Any:
    page = web.get(f"{URL}{path}/")
    assert page.status_code == 200
    token = str(page.context["csrf_token"])
    return web.post(f"{URL}{path}/", {**data, "csrfmiddlewaretoken": token})


def test_only_a_superuser_runs_functions_as_a_superuser_or_other_staff() -> None:
    root = _login(User.objects.create_superuser("root", "root@example.com", "pw"))
    staff = User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["view_functionoverview", "run_function"])
    )
    runner = _login(staff)
    User.objects.create_user("alice", "alice@example.com", "pw")
    response = _post(runner, "testapp:whoami", {"username": "root", "args": "{}"})
    assert response.context["result"] is None  # nothing ran
    assert response.context["form"].errors == {
        "username": ["Only a superuser may run functions as 'root', a superuser."]
    }
    User.objects.create_user("bob", "bob@example.com", "pw", is_staff=True)
    response = _post(runner, "testapp:whoami", {"username": "bob"})
    assert response.context["form"].errors == {
        "username": ["Only a superuser may run functions as 'bob', a staff user."]
    }
    assert _post(runner, "testapp:whoami", {"username": "alice"}).context["result"]["ok"]
    assert _post(runner, "testapp:whoami", {"username": "staff"}).context["result"]["ok"]
    assert _post(root, "testapp:whoami", {"username": "bob"}).context["result"]["ok"]
    assert _post(root, "testapp:whoami", {"username": "root"}).context["result"]["ok"]


def test_arguments_too_deep_for_the_parser_are_a_form_error() -> None:
    root = _login(User.objects.create_superuser("root", "root@example.com", "pw"))
    response = _post(root, "testapp:echo", {"args": "[" * 5000 + "]" * 5000})
    assert response.status_code == 200  # was a 500 (RecursionError)
    assert response.context["form"].errors["args"] == [
        "The arguments are nested too deeply (at most 64 levels)."
    ]


def test_an_uncaught_error_shows_its_traceback_escaped(settings: Any) -> None:
    settings.DEBUG = False  # clients get "Server Error"; the admin shows why
    root = _login(User.objects.create_superuser("root", "root@example.com", "pw"))
    marker = "<script>alert(1)</script>"
    response = _post(root, "testapp/own_logs:uncaught", {"args": f'{{"marker": "{marker}"}}'})
    error = response.context["result"]["error"]
    assert response.context["result"]["attempts"] == 1  # it ran once (it said 0)
    assert error.startswith(f"Uncaught ValueError in testapp/own_logs:uncaught: uncaught {marker}")
    assert 'own_logs.py", line' in error  # the traceback
    page = response.content.decode()
    assert marker not in page and "uncaught &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_reactive_model_admin_shows_ms_time_fields_as_dates() -> None:
    """A project's own time in ms since the epoch (the demo's ``Read.last_read``)."""
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    channel = Channel.objects.create(name="general")
    message = Message.objects.create(channel=channel, author="a", body="b", rating=1796222023611.4)

    class MessageAdmin(ReactiveModelAdmin):
        list_display = ("body", "rating", "creation_time")
        ms_time_fields = ("rating",)

    site = admin.AdminSite(name="ms")
    site.register(Message, MessageAdmin)
    model_admin = site.get_model_admin(Message)
    assert not model_admin.check()  # Django's admin checks accept the date columns
    request = RequestFactory().get("/")
    request.user = root
    assert model_admin.get_list_display(request) == ["body", "rating_date", "created"]
    changelist = model_admin.get_changelist_instance(request)
    [shown] = changelist.result_list
    cells = "".join(items_for_result(changelist, shown, None))
    assert "2026-12-02 14:33:43 UTC" in cells and "1796222023611" not in cells
    # the document's page: a read-only date, no float input
    fields = model_admin.get_fields(request, message)
    assert "rating" not in fields and {"rating_date", "created"} <= set(fields)
    assert "rating" not in model_admin.get_form(request, message).base_fields
    assert model_admin.rating_date(message) == "2026-12-02 14:33:43 UTC"


def test_the_crons_command_shows_which_are_paused() -> None:
    cron_table.register(discover())
    cron_table.set_paused([EVERY], True)
    out = io.StringIO()
    call_command("reactive", "crons", stdout=out)
    [line] = [line for line in out.getvalue().splitlines() if line.startswith(EVERY)]
    assert line.endswith("paused (resume it in the admin)  last -") and "next" not in line
    assert CronRunAdmin.next(None, CronRun.objects.get(name=EVERY)) == "- (paused)"  # the admin's
    others = [line for line in out.getvalue().splitlines() if "  next " in line]
    assert others and not any("paused" in line for line in others)


@pytest.mark.django_db(transaction=True)
def test_live_subscriptions_follow_unsubscribe_and_ignore_made_up_paths(asgi_server: Any) -> None:
    """A real socket on a live server (which flushes every 0.5 s): a Remove is seen at the next
    flush; a path that names no function is not listed (clients can make up any number)."""
    web = Client()
    web.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))

    def shown() -> dict[str, int]:
        return dict(web.get("/admin/reactive/functionstat/").context["subscriptions"])

    def until(predicate: Any, what: str) -> dict[str, int]:
        deadline = time.monotonic() + 8
        try:
            while time.monotonic() < deadline:
                if predicate(found := shown()):
                    return found
                time.sleep(0.1)
            raise AssertionError(f"{what}: {found}")
        finally:
            connections.close_all()  # this worker thread's

    async def session() -> None:
        sync = await RawSync.connect(asgi_server.ws_url)
        try:
            qid = await sync.subscribe("testapp:channel_names", {})
            await sync.subscribe("testapp:made_up_<b>", {})
            found = await asyncio.to_thread(
                until, lambda f: f.get("testapp:channel_names") == 1, "the subscription"
            )
            assert not any("made_up" in path for path in found)
            await sync.unsubscribe(qid)
            await asyncio.to_thread(
                until, lambda f: "testapp:channel_names" not in f, "the unsubscribe"
            )
        finally:
            await sync.close()

    asyncio.run(session())


def test_view_permission_alone_does_not_operate_the_scheduler() -> None:
    """Django offers a ModelAdmin's actions to whoever may view the list unless the actions
    name a permission: pause, resume, run now and cancel need the model's change permission."""
    cron_table.register(discover())
    row = ScheduledFunction.objects.create(
        name="testapp/scheduling:bump", args=[{}], kind="mutation", scheduled_time=now_ms() + 3.6e6
    )
    viewer = User.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_cronrun", "view_scheduledfunction"])
    )
    web = Client()
    web.force_login(viewer)
    assert web.get("/admin/reactive/cronrun/").context["action_form"] is None  # none offered
    web.post("/admin/reactive/cronrun/", {"action": "pause", "_selected_action": [EVERY]})
    assert not CronRun.objects.get(name=EVERY).paused
    web.post(
        "/admin/reactive/scheduledfunction/", {"action": "cancel", "_selected_action": [row.pk]}
    )
    assert ScheduledFunction.objects.get(pk=row.pk).state == "pending"
    operator = User.objects.create_user("operator", "o@example.com", "pw", is_staff=True)
    operator.user_permissions.set(
        Permission.objects.filter(codename__in=["view_cronrun", "change_cronrun"])
    )
    web.force_login(operator)
    web.post("/admin/reactive/cronrun/", {"action": "pause", "_selected_action": [EVERY]})
    assert CronRun.objects.get(name=EVERY).paused


def test_int64_and_bytes_results_are_shown_plainly_too() -> None:
    root = _login(User.objects.create_superuser("root", "root@example.com", "pw"))
    result = _post(root, "testapp:big_int", {"args": "{}"}).context["result"]
    assert json.loads(result["value"])["i"] == {"$integer": "AAAAAAAAAEA="}  # Convex JSON
    assert json.loads(result["plain"]) == {"i": str(2**62), "neg": "-1", "f": 1.5, "n": 3.0}
    assert _post(root, "testapp:ping", {}).context["result"]["plain"] is None  # the same


@pytest.mark.django_db(transaction=True)
def test_retries_of_a_really_contended_mutation_are_counted_exactly() -> None:
    """Threads incrementing one counter conflict for real (serialization failures, retried):
    the figures match what each call's outcome says."""
    stats.take()
    outcomes: list[Any] = []
    together = threading.Barrier(4)

    def work() -> None:
        try:
            together.wait(timeout=10)
            outcomes.extend(execute("testapp:counter_inc", {"name": "hot"}) for _ in range(8))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    buckets, retried = stats.take()
    figures = [
        sum(f[i] for (p, _), f in buckets.items() if p == "testapp:counter_inc") for i in range(8)
    ]
    assert all(o.ok for o in outcomes) and figures[stats.CALLS] == 32
    assert figures[stats.RETRIES] == sum(o.attempts - 1 for o in outcomes)
    assert len(retried) == sum(o.attempts > 1 for o in outcomes)
    assert figures[stats.WRITES] == 32 and figures[stats.ERRORS] == 0
    assert figures[stats.RETRIES] > 0  # the threads did conflict


def test_staff_see_the_activity_of_public_functions_only() -> None:
    """As on the Functions page: internal functions and HTTP actions are superusers'."""
    stats.take()
    assert execute("testapp:secret", {}).ok and execute("testapp:ping", {}).ok
    for _ in range(2):
        stats._retried.append(stats.Retried(time.time() * 1000, "testapp:secret", 2, ""))
    stats._retried.append(stats.Retried(time.time() * 1000, "testapp:ping", 2, ""))
    viewer = User.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_functionstat"))
    web = Client()
    web.force_login(viewer)
    page = web.get("/admin/reactive/functionstat/").context
    assert [row["path"] for row in page["slowest"]] == ["testapp:ping"]
    assert [row["path"] for row in page["conflicts"]] == ["testapp:ping"]
    web.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    page = web.get("/admin/reactive/functionstat/").context
    assert {row["path"] for row in page["slowest"]} == {"testapp:ping", "testapp:secret"}
    assert len(page["conflicts"]) == 3


@pytest.mark.django_db(transaction=True)
def test_a_flush_gives_way_to_a_truncate_of_its_tables() -> None:
    """A test's teardown (or an operator) truncating the figures' tables while a server flushes:
    the flush held one table and waited for the other, the TRUNCATE the other way round, and
    Postgres's deadlock check could end the TRUNCATE. The flush now stops waiting first and keeps
    its figures for the next one."""
    from reactive.models import FunctionStat, ProcessSubscriptions
    from reactive.observe import flush, live

    execute("testapp:counter_inc", {"name": "truncate"})
    subs, figures = ProcessSubscriptions._meta.db_table, FunctionStat._meta.db_table
    locked, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def truncate() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"LOCK TABLE {subs} IN ACCESS EXCLUSIVE MODE")
                locked.set()
                done.wait(timeout=10)  # the flush holds the figures' table meanwhile
                cursor.execute(f"LOCK TABLE {figures} IN ACCESS EXCLUSIVE MODE")
                cursor.execute("ROLLBACK")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=truncate)
    thread.start()
    assert locked.wait(timeout=10)
    watching = live.watching
    live.watching = lambda: True  # type: ignore[assignment]  # publish a subscriptions row
    try:
        started = time.monotonic()
        with pytest.raises(Exception, match="lock timeout"):
            flush.flush_now()
        assert time.monotonic() - started < 0.9  # before the deadlock check's second
    finally:
        live.watching = watching  # type: ignore[method-assign]
        done.set()
        thread.join()
    assert errors == []
    flush.flush_now()  # kept: written once the tables are free
    assert FunctionStat.objects.get(path="testapp:counter_inc").calls >= 1
