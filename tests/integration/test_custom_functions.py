"""Custom function builders (reactive.custom) against real Topicgres: through the executor, and
over HTTP with the official Python client.

The builders and functions are in tests/testapp/functions/custom.py (`testapp/custom:*`);
definition mistakes are made here, with ``path=``, and unregistered after each test.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from convex import ConvexError as ClientConvexError
from convex.http_client import ConvexExecutionError, ConvexHttpClient
from django.core.management import call_command

from reactive import (
    Customization,
    MutationCtx,
    action,
    custom_action,
    custom_ctx,
    custom_mutation,
    custom_query,
    internal_query,
    mutation,
    query,
    v,
)
from reactive.checks import check_functions
from reactive.errors import (
    ArgumentValidationError,
    ConfigurationError,
    ConvexError,
    FunctionNotFound,
    InternalError,
)
from reactive.functions.registry import Isolation, Kind, RegisteredFunction, registry
from reactive.ids import encode_id
from reactive.testing import ReactiveClient
from tests.testapp.functions import custom as fns
from tests.testapp.models import Channel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client() -> ReactiveClient:
    return ReactiveClient()


@pytest.fixture
def adhoc() -> Iterator[list[str]]:
    """Paths of functions a test defines; unregistered afterwards."""
    paths: list[str] = []
    yield paths
    for path in paths:
        registry.unregister(path)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- arguments ---------------------------------------------------------------------------------


def test_declared_arguments_are_consumed(client: ReactiveClient) -> None:
    assert client.query("testapp/custom:whoami", {"session": "s1"}) == "hi s1"
    assert client.query("testapp/custom:whoami", {"session": "s2", "greeting": "yo"}) == "yo s2"
    # with args=: the customization's validators join the function's
    assert client.query("testapp/custom:session_n", {"session": "s", "n": 2}) == {
        "session": "s",
        "n": 2,
    }


@pytest.mark.parametrize(
    ("path", "args", "field"),
    [
        ("testapp/custom:whoami", {}, "session"),
        ("testapp/custom:whoami", {"session": 1}, "session"),
        ("testapp/custom:whoami", {"session": "s", "greeting": 2}, "greeting"),
        ("testapp/custom:whoami", {"session": "s", "other": 1}, "other"),
        ("testapp/custom:session_n", {"n": 1}, "session"),
        ("testapp/custom:session_n", {"session": "s"}, "n"),
    ],
)
def test_bad_arguments_name_the_function_and_the_field(
    client: ReactiveClient, path: str, args: dict[str, Any], field: str
) -> None:
    with pytest.raises(ArgumentValidationError) as info:
        client.query(path, args)
    assert path in str(info.value) and f"`{field}`" in str(info.value)


def test_input_can_pass_arguments_on(client: ReactiveClient) -> None:
    assert client.query("testapp/custom:scaled", {"x": 10, "percent": 50}) == 5.0


# -- ctx ---------------------------------------------------------------------------------------


def test_ctx_fields_reach_the_handler(client: ReactiveClient) -> None:
    name = _unique("c")
    client.with_identity("ann").mutation("testapp/custom:create_channel_as", {"name": name})
    assert Channel.objects.get(name=name).topic == "ann"


def test_builders_compose_and_take_per_function_options(client: ReactiveClient) -> None:
    assert client.mutation("testapp/custom:greet") == "member anon"
    assert client.mutation("testapp/custom:greet_admin") == "admin anon"
    assert client.with_identity("bob").mutation("testapp/custom:greet_admin") == "admin bob"


def test_a_wrapped_db_is_what_the_handler_reads_and_writes(client: ReactiveClient) -> None:
    prefix = _unique("w")
    Channel.objects.create(name=f"{prefix}-open")
    hidden = Channel.objects.create(name=f"{prefix}-hidden", topic=fns.SECRET)
    assert client.query("testapp/custom:channel_names", {"prefix": prefix}) == [f"{prefix}-open"]
    hidden_id = encode_id("channels", hidden.pk)
    assert client.query("testapp/custom:get_channel", {"channel": hidden_id}) is None
    created = client.mutation("testapp/custom:create_channel", {"name": f"{prefix}-new"})
    assert client.query("testapp/custom:get_channel", {"channel": created})["name"] == (
        f"{prefix}-new"
    )
    with pytest.raises(ConvexError) as info:
        client.mutation(
            "testapp/custom:create_channel", {"name": f"{prefix}-s", "topic": fns.SECRET}
        )
    assert info.value.data == {"code": "NO_SECRETS"}
    assert not Channel.objects.filter(name=f"{prefix}-s").exists()


def test_on_success_runs_in_the_transaction_after_the_handler(client: ReactiveClient) -> None:
    name = _unique("audited")
    channel = client.mutation("testapp/custom:audited_create", {"name": name})
    assert client.query("testapp/topics:audit", {"doc": channel}) == ["channels success"]
    with pytest.raises(ConvexError):
        client.mutation("testapp/custom:audited_create", {"name": name + "x", "fail": True})
    assert not Channel.objects.filter(name=name + "x").exists()


def test_custom_actions_sync_and_async(client: ReactiveClient) -> None:
    assert client.with_identity("ann").action("testapp/custom:action_who") == "ann pong"
    assert client.action("testapp/custom:action_who_sync") == "anon pong"


def test_internal_variants_stay_internal(client: ReactiveClient) -> None:
    assert client.query("testapp/custom:whoami_internal", {"session": "s"}) == "internal s"
    with pytest.raises(FunctionNotFound):
        ReactiveClient(as_client=True).query("testapp/custom:whoami_internal", {"session": "s"})


def test_built_functions_are_ordinary_registered_functions() -> None:
    fn = registry.get("testapp/custom:whoami")
    assert isinstance(fn, RegisteredFunction)
    assert (fn.kind, fn.internal, fn.path, fn.problems) == (
        Kind.QUERY,
        False,
        "testapp/custom:whoami",
        (),
    )
    assert fn is fns.whoami
    assert fn.handler.__wrapped__.__name__ == "whoami"  # type: ignore[attr-defined]
    assert fn.__name__ == "whoami"  # type: ignore[attr-defined]
    internal = registry.get("testapp/custom:whoami_internal")
    assert internal is not None and internal.internal
    # `manage.py reactive functions` lists it as it lists any function, by its own handler
    out = io.StringIO()
    call_command("reactive", "functions", stdout=out)
    [line] = [row for row in out.getvalue().splitlines() if "testapp/custom:whoami " in row]
    assert line.split() == [
        "testapp/custom:whoami",
        "query",
        "public",
        "tests.testapp.functions.custom.whoami",
    ]


# -- mistakes ----------------------------------------------------------------------------------


def test_an_input_setting_a_built_in_field_fails_naming_it(
    client: ReactiveClient, adhoc: list[str], settings: Any
) -> None:
    settings.DEBUG = True  # the InternalError carries the message
    bad = custom_query(query, custom_ctx(lambda ctx: {"auth": None}))

    @bad(path="adhoc:sets_auth")
    def sets_auth(ctx: Any) -> None: ...

    adhoc.append("adhoc:sets_auth")
    with pytest.raises(InternalError) as info:
        client.query("adhoc:sets_auth")
    assert "adhoc:sets_auth" in str(info.value)
    assert "sets ctx.auth, which is built in; only ctx.db may be replaced" in str(info.value)

    in_action = custom_action(action, custom_ctx(lambda ctx: {"db": object()}))

    @in_action(path="adhoc:action_db")
    def action_db(ctx: Any) -> None: ...

    adhoc.append("adhoc:action_db")
    with pytest.raises(InternalError, match="sets ctx.db in an action"):
        client.action("adhoc:action_db")


def test_definition_mistakes_are_recorded_for_the_check(
    client: ReactiveClient, adhoc: list[str]
) -> None:
    @fns.session_query(path="adhoc:clash")
    def clash(ctx: Any, session: str) -> None: ...

    @fns.session_query(path="adhoc:options", role="admin")
    def options(ctx: Any) -> None: ...

    adhoc.extend(["adhoc:clash", "adhoc:options"])
    assert "argument(s) ['session'] are declared by both" in clash.problems[0]
    assert "does not take the options ['role']" in options.problems[0]
    outcome = client.call("adhoc:clash", {"session": "s"})
    assert not outcome.ok  # refused, server-side, until fixed
    assert isinstance(outcome.error, InternalError)
    reported = [e.msg for e in check_functions() if e.id == "reactive.E020"]
    assert any(m.startswith("adhoc:clash: argument(s) ['session']") for m in reported), reported
    assert any(m.startswith("adhoc:options: the customization's") for m in reported), reported


def test_builder_mistakes_raise_at_once() -> None:
    with pytest.raises(ConfigurationError, match="custom_query builds queries"):
        custom_query(mutation, custom_ctx(lambda ctx: {}))

    async def later(ctx: Any, args: Any) -> None: ...

    with pytest.raises(ConfigurationError, match="input is async"):
        custom_mutation(mutation, Customization(input=later))
    with pytest.raises(ConfigurationError, match="'args' and 'input'"):
        custom_query(query, {"args": {}, "inptu": None})
    with pytest.raises(TypeError, match="isolation= applies to mutations only"):
        fns.session_query(isolation="select_for_update")(lambda ctx: None)


def test_convex_helpers_spelling_and_isolation(client: ReactiveClient, adhoc: list[str]) -> None:
    builder = custom_mutation(
        mutation,
        {"args": {"k": v.string()}, "input": lambda ctx, args: {"ctx": {"k": args["k"]}}},
    )

    @builder(path="adhoc:locked", isolation="select_for_update")
    def locked(ctx: MutationCtx) -> str:
        return str(ctx.k)  # type: ignore[attr-defined]

    adhoc.append("adhoc:locked")
    assert locked.isolation is Isolation.SELECT_FOR_UPDATE
    assert client.mutation("adhoc:locked", {"k": "v"}) == "v"


def test_on_success_sees_the_original_ctx_and_the_handlers_args(
    client: ReactiveClient, adhoc: list[str]
) -> None:
    seen: dict[str, Any] = {}

    def input(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
        def on_success(ctx: Any, args: dict[str, Any], result: Any) -> None:
            seen.update(has_extra=hasattr(ctx, "extra"), args=args, result=result)

        return {"ctx": {"extra": 1}, "on_success": on_success}

    builder = custom_query(internal_query, Customization(args={"drop": v.string()}, input=input))

    @builder(path="adhoc:succeeds")
    def succeeds(ctx: Any, keep: int) -> int:
        return keep + ctx.extra

    adhoc.append("adhoc:succeeds")
    assert client.query("adhoc:succeeds", {"drop": "d", "keep": 1}) == 2
    assert seen == {"has_extra": False, "args": {"keep": 1}, "result": 2}


# -- over HTTP, with the official Python client ------------------------------------------------


@pytest.mark.interop
def test_official_python_client(asgi_server: Any) -> None:
    convex = ConvexHttpClient(asgi_server.url)
    assert convex.query("testapp/custom:whoami", {"session": "http"}) == "hi http"
    with pytest.raises(ConvexExecutionError, match=r"testapp/custom:whoami.*`session`"):
        convex.query("testapp/custom:whoami", {})
    assert convex.mutation("testapp/custom:greet_admin") == "admin anon"
    with pytest.raises(ClientConvexError) as info:
        convex.mutation("testapp/custom:create_channel", {"name": "x", "topic": fns.SECRET})
    assert info.value.data == {"code": "NO_SECRETS"}
    name = _unique("http")
    channel = convex.mutation("testapp/custom:audited_create", {"name": name})
    assert convex.query("testapp/topics:audit", {"doc": channel}) == ["channels success"]
    with pytest.raises(ConvexExecutionError, match="Could not find public function"):
        convex.query("testapp/custom:whoami_internal", {"session": "s"})


def test_an_optional_customization_argument_reaches_input_as_none_when_absent(
    client: ReactiveClient, adhoc: list[str]
) -> None:
    builder = custom_query(
        query,
        Customization(
            args={"token": v.optional(v.string())},
            input=lambda ctx, args: {"ctx": {"token": args["token"]}},
        ),
    )

    @builder(path="adhoc:hinted")
    def hinted(ctx: Any, n: int = 0) -> Any:
        return [ctx.token, n]

    @builder(path="adhoc:declared", args={"n": v.number()})
    def declared(ctx: Any, n: float) -> Any:
        return [ctx.token, n]

    adhoc.extend(["adhoc:hinted", "adhoc:declared"])
    assert client.query("adhoc:hinted") == [None, 0]
    assert client.query("adhoc:hinted", {"token": "t", "n": 1}) == ["t", 1]
    assert client.query("adhoc:declared", {"n": 2}) == [None, 2]
    assert client.query("adhoc:declared", {"n": 2, "token": "t"}) == ["t", 2]
