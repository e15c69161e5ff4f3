"""The admin's function browser (reactive.admin.functions): the list, the schemas, the run form
through the executor as a chosen user, and who may see and run what."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from reactive.models import FunctionOverview

pytestmark = pytest.mark.django_db

URL = "/admin/reactive/functionoverview/"


def _login(user: User) -> Client:
    web = Client(enforce_csrf_checks=True)
    web.force_login(user)
    return web


@pytest.fixture
def superuser() -> Client:
    return _login(User.objects.create_superuser("root", "root@example.com", "pw"))


def _staff(*codenames: str) -> Client:
    name = f"staff{User.objects.count()}"
    user = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return _login(user)


def _post(web: Client, path: str, data: dict[str, Any]) -> Any:
    """POST the run form with the CSRF token the page handed out (checks enforced)."""
    page = web.get(f"{URL}{path}/")
    assert page.status_code == 200
    token = page.context["csrf_token"]
    return web.post(f"{URL}{path}/", {**data, "csrfmiddlewaretoken": str(token)})


def _rows(web: Client) -> dict[str, Any]:
    response = web.get(URL)
    assert response.status_code == 200
    return {row.path: row for row in response.context["functions"]}


def test_the_list_shows_kind_visibility_and_schemas(superuser: Client) -> None:
    rows = _rows(superuser)
    send = rows["testapp/messages:send"]
    assert (send.kind, send.visibility) == ("mutation", "public")
    schema = json.loads(send.args)
    assert schema["required"] == ["channel", "body"]
    assert schema["properties"]["channel"] == {
        "description": "Id of 'channels'",
        "title": "Channel",
        "type": "string",
    }
    assert json.loads(send.returns) == {"type": "string"}
    assert json.loads(rows["testapp:v_style"].args)["properties"]["big"]["format"] == "int64"
    assert rows["testapp:whoami"].returns == "any"  # no return validator
    assert rows["testapp/auth_probe:record_internal"].visibility == "internal"
    http = rows["tests/testapp/http:boom"]
    assert (http.kind, http.visibility, http.args) == ("action", "HTTP action", "request")
    # the search box narrows by path
    found = superuser.get(URL, {"q": "own_logs"}).context["functions"]
    assert found and all("own_logs" in row.path for row in found)
    page = superuser.get(f"{URL}tests/testapp/http:boom/")
    assert page.status_code == 200 and not page.context["runnable"]
    assert b"is not run from here" in page.content


def test_run_as_a_user_through_the_executor(superuser: Client) -> None:
    User.objects.create_user("alice", "alice@example.com", "pw", first_name="Alice")
    response = _post(superuser, "testapp:whoami", {"username": "alice", "args": "{}"})
    result = response.context["result"]
    assert result["ok"], result
    identity = json.loads(result["value"])
    assert identity["name"] == "Alice" and identity["email"] == "alice@example.com"
    assert result["attempts"] == 1 and result["ms"] > 0
    # anonymous when no user is named
    result = _post(superuser, "testapp:whoami", {"username": "", "args": ""}).context["result"]
    assert result["value"] == "null"
    # logs, and a failing call's error with its data
    result = _post(superuser, "testapp/own_logs:chatty", {"args": '{"name": "x"}'}).context[
        "result"
    ]
    assert result["ok"] and any("own line" in line for line in result["logs"])
    result = _post(superuser, "testapp:fail_convex", {"args": "{}"}).context["result"]
    assert not result["ok"] and result["error"].startswith("Uncaught ConvexError")
    assert json.loads(result["error_data"]) == {"code": "NOPE", "n": {"$integer": "BwAAAAAAAAA="}}
    # the arguments are validated by the function, as for a client
    result = _post(superuser, "testapp/messages:send", {"args": '{"body": 1}'}).context["result"]
    assert "ArgumentValidationError in testapp/messages:send" in result["error"]


def test_bad_input_is_a_form_error_not_a_500(superuser: Client) -> None:
    response = _post(superuser, "testapp:whoami", {"username": "nobody", "args": "{}"})
    assert response.status_code == 200 and response.context["result"] is None
    assert response.context["form"].errors == {"username": ["There is no user 'nobody'."]}
    response = _post(superuser, "testapp:whoami", {"args": '{\n  "a": }'})
    assert response.context["form"].errors["args"] == [
        "Not JSON: line 2, column 8: Expecting value."
    ]
    response = _post(superuser, "testapp:whoami", {"args": "[1]"})
    assert response.context["form"].errors["args"] == ["The arguments must be an object, not list."]
    assert superuser.get(f"{URL}testapp:no_such_function/").status_code == 404


def test_staff_see_and_run_public_functions_only_with_permissions(superuser: Client) -> None:
    nobody = _staff()
    assert nobody.get(URL).status_code == 403
    viewer = _staff("view_functionoverview")
    rows = _rows(viewer)
    assert "testapp:whoami" in rows
    assert not any(r.visibility != "public" for r in rows.values())  # internal and HTTP hidden
    assert viewer.get(f"{URL}testapp/auth_probe:record_internal/").status_code == 403
    page = viewer.get(f"{URL}testapp:whoami/")
    assert page.status_code == 200 and not page.context["runnable"]
    token = str(page.context["csrf_token"])
    refused = viewer.post(f"{URL}testapp:whoami/", {"args": "{}", "csrfmiddlewaretoken": token})
    assert refused.status_code == 403
    # CSRF: a POST without the token is refused before anything runs
    assert superuser.post(f"{URL}testapp:whoami/", {"args": "{}"}).status_code == 403
    runner = _staff("view_functionoverview", "run_function")
    result = _post(runner, "testapp:whoami", {"args": "{}"}).context["result"]
    assert result["ok"]
    # an internal function runs for a superuser (a server caller)
    result = _post(
        superuser,
        "testapp/auth_probe:record_internal",
        {"username": "root", "args": '{"name": "n"}'},
    ).context["result"]
    assert result["ok"], result
    assert FunctionOverview._meta.managed is False
