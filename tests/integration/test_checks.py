"""`manage.py check` reports each configuration mistake in one line naming the setting, the
function or the cron, and nothing reaches the user as a traceback."""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings

from reactive.conf import reactive_settings
from reactive.errors import ConfigurationError
from tests.check_project import run_manage


def reactive_errors(prefix: str = "reactive.E") -> list[str]:
    return [m.msg for m in checks.run_checks() if m.id and m.id.startswith(prefix)]


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, line",
    [
        (
            {"LIMITS": {"function_seconds": "fast"}},
            "REACTIVE['LIMITS']['function_seconds']: expected a positive number, got 'fast'",
        ),
        (
            {"LIMITS": {"function_seconds": -1}},
            "REACTIVE['LIMITS']['function_seconds']: expected a positive number, got -1",
        ),
        (
            {"LIMITS": {"documents_read": 2.5}},
            "REACTIVE['LIMITS']['documents_read']: expected a positive integer, got 2.5",
        ),
        (
            {"RETRY": {"max_attempts": True}},
            "REACTIVE['RETRY']['max_attempts']: expected a positive integer, got True",
        ),
        (
            {"RETRY": {"lock_timeout_ms": -5}},
            "REACTIVE['RETRY']['lock_timeout_ms']: expected a non-negative number, got -5",
        ),
        (
            {"SYNC": {"notify_executor_writes": "yes"}},
            "REACTIVE['SYNC']['notify_executor_writes']: expected True or False, got 'yes'",
        ),
        (
            {"SYNC": {"ping_seconds": float("nan")}},
            "REACTIVE['SYNC']['ping_seconds']: expected a positive number, got nan",
        ),
        (
            {"SCHEDULER": {"crons_module": "my-crons"}},
            "REACTIVE['SCHEDULER']['crons_module']: expected a module name like 'functions', "
            "got 'my-crons'",
        ),
        (
            {"CORS_TRUSTED_ORIGINS": "https://a.example"},
            "REACTIVE['CORS_TRUSTED_ORIGINS']: expected a list of strings, got 'https://a.example'",
        ),
        ({"SESSION_ISSUER": ""}, "REACTIVE['SESSION_ISSUER']: expected a non-empty string, got ''"),
        ({"LIMITS": 5}, "REACTIVE['LIMITS']: expected a dict, got 5"),
        (["x"], "REACTIVE: expected a dict, got ['x']"),
        ({"LIMIT": {}}, "REACTIVE['LIMIT']: unknown setting; did you mean 'LIMITS'?"),
        (
            {"LIMITS": {"documents_red": 1}},
            "REACTIVE['LIMITS']['documents_red']: unknown setting; did you mean 'documents_read'?",
        ),
        ({"NOT_A_KEY": 1}, "REACTIVE['NOT_A_KEY']: unknown setting; see docs/settings.md"),
    ],
)
def test_each_bad_setting_is_one_check_error(given, line):
    with override_settings(REACTIVE=given):
        assert reactive_errors("reactive.E004") == [line]
        with pytest.raises(ConfigurationError, match="run manage.py check"):
            reactive_settings.LIMITS  # noqa: B018 - calls fail until it is fixed
        # start-up code gets the default in its place
        assert reactive_settings.lenient.LIMITS.function_seconds == 1.0


def test_valid_settings_pass_and_keep_their_values():
    given = {
        "LIMITS": {"function_seconds": 2, "documents_read": 10},
        "RETRY": {"lock_timeout_ms": 0},
        "SYNC": {"gil_switch_interval_ms": None},
        "REFUSE_NETWORK_IN_TRANSACTIONS": False,
        "CORS_TRUSTED_ORIGINS": ("https://a.b",),
    }
    with override_settings(REACTIVE=given):
        assert reactive_errors("reactive.E004") == []
        assert reactive_settings.LIMITS.function_seconds == 2
        assert reactive_settings.RETRY.lock_timeout_ms == 0
        assert reactive_settings.CORS_TRUSTED_ORIGINS == ("https://a.b",)


def test_bad_settings_do_not_crash_start_up(tmp_path):
    code, out = run_manage(
        tmp_path,
        """
        REACTIVE = {"LIMITS": {"function_seconds": "fast"}, "UNKNOWN": 1, "SYNC": []}
    """,
    )
    assert code == 1, out
    assert "Traceback" not in out
    assert (
        "(reactive.E004) REACTIVE['LIMITS']['function_seconds']: expected a positive number, "
        "got 'fast'"
    ) in out
    assert "(reactive.E004) REACTIVE['UNKNOWN']: unknown setting" in out
    assert "(reactive.E004) REACTIVE['SYNC']: expected a dict, got []" in out
    assert out.count("(reactive.E") == 3, out  # the crons are not blamed for the settings


def test_a_list_for_reactive_does_not_crash_start_up(tmp_path):
    code, out = run_manage(tmp_path, 'REACTIVE = ["x"]\n')
    assert code == 1 and "Traceback" not in out, out
    assert "(reactive.E004) REACTIVE: expected a dict, got ['x']" in out


# -- function definitions ----------------------------------------------------------------------

BAD_FUNCTIONS = """
    import dataclasses
    import datetime
    import enum
    from decimal import Decimal

    from reactive import Int64, action, mutation, query, v

    class Point:
        pass

    @dataclasses.dataclass
    class Pair:
        a: int

    class Color(enum.Enum):
        RED = "red"

    @mutation
    def tags(ctx, tags: set[int]) -> None: ...

    @query
    def when(ctx, at: datetime.datetime, price: Decimal | None = None) -> None: ...

    @query
    def custom(ctx, p: Point, pair: Pair, color: Color, pos: tuple[int, int]) -> None: ...

    @mutation(args={"x": "string"})
    def stringly(ctx, x): ...

    @query(args={"channel": v.id("chanels")})
    def unknown_table(ctx, channel): ...

    @query
    def no_ctx() -> str: ...

    @query
    def body_first(body: str) -> str: ...

    @query
    async def async_query(ctx) -> None: ...

    @query
    def keys(ctx, counts: dict[int, int]) -> set[str]: ...

    @action(args={"a": v.string()})
    def missing_param(ctx, b): ...

    @query
    def big(ctx, n: Int64) -> None: ...

    @mutation(isolation="serialisable")
    def iso(ctx) -> None: ...

    @query
    def fine(ctx, n: int, tags: list[str], data: bytes, kind: v.id("channels")) -> int: ...

    @query
    def fine_result(ctx) -> tuple[datetime.datetime, Decimal | None]: ...
"""

E020 = [
    "badfns:tags: argument 'tags': set[int] is not a Convex value: Convex values have no sets; "
    "declare a list",
    "badfns:when: argument 'at': datetime is not a Convex value: declare a float (ms since the "
    "epoch, like _creationTime) or an ISO str and convert it",
    "badfns:when: argument 'price': Decimal is not a Convex value: declare a float or a str",
    "badfns:custom: argument 'p': Point is a class, and no value arriving over the wire is an "
    "instance of it; declare a pydantic BaseModel, a TypedDict or v.object({...})",
    "badfns:custom: argument 'pair': Pair is a dataclass, and no value arriving over the wire",
    "badfns:custom: argument 'color': Color is an enum, and clients send its values, never its "
    "members; declare Literal['red']",
    "badfns:custom: argument 'pos': tuple[int, int] is not a Convex value: arrays arrive as "
    "lists; declare list[...]",
    "badfns:stringly: argument 'x': 'string' is a string, not a type or validator (write "
    "v.string(), str, ...)",
    "badfns:unknown_table: v.id('chanels') names no table",
    "badfns:no_ctx: the handler takes no ctx parameter first; write def no_ctx(ctx, ...)",
    "badfns:body_first: the first parameter 'body' receives ctx, not an argument; add ctx "
    "before it",
    "badfns:async_query: queries and mutations are synchronous (they run in one database "
    "transaction); only actions may be async",
    "badfns:keys: argument 'counts': dict[int, int]: object keys arrive as strings; declare "
    "dict[str, int]",
    "badfns:keys: returns: set[str] is not a Convex value: Convex values have no sets",
    "badfns:missing_param: the handler has no parameter for argument(s) ['a']",
    "badfns:iso: isolation='serialisable' is not one of 'serializable', 'select_for_update'",
    "badfns:big: argument 'n': Int64 is not a type hint; declare v.int64() (or int, which also "
    "takes a float64)",
]


def test_function_definition_mistakes_are_one_line_each(tmp_path):
    code, out = run_manage(
        tmp_path,
        'INSTALLED_APPS = [*INSTALLED_APPS, "badfns"]\n',
        apps={"badfns": {"functions.py": BAD_FUNCTIONS}},
    )
    assert code == 1, out
    assert "Traceback" not in out and "errors.pydantic.dev" not in out, out
    lines = [line for line in out.splitlines() if "(reactive.E020)" in line]
    for expected in E020:
        assert sum(f"(reactive.E020) {expected}" in line for line in lines) == 1, (expected, out)
    assert len(lines) == len(E020), out
    assert "badfns:fine" not in out


@pytest.mark.django_db(transaction=True)
def test_a_function_defined_wrongly_fails_its_calls_not_the_process():
    from reactive import query
    from reactive.checks import check_functions
    from reactive.errors import InternalError
    from reactive.functions.executor import execute
    from reactive.functions.registry import registry

    @query(path="broken:tags")
    def tags(ctx, tags: set[int]) -> int:
        return len(tags)

    try:
        assert tags.problems == (
            "argument 'tags': set[int] is not a Convex value: Convex "
            "values have no sets; declare a list",
        )
        assert [e.msg for e in check_functions()] == [f"broken:tags: {tags.problems[0]}"]
        out = execute("broken:tags", {"tags": [1]})
        assert isinstance(out.error, InternalError) and out.error.message == "Server Error"
    finally:
        registry.unregister("broken:tags")


# -- crons ---------------------------------------------------------------------------------------

CRON_APPS = {
    "cronsa": {
        "crons.py": """
        from reactive import CronJobs, internal

        crons = CronJobs()
        crons.daily("late", {"hour_utc": 25, "minute_utc": 0}, internal.testapp.scheduling.bump)
    """
    },
    "cronsb": {
        "crons.py": """
        from reactive import CronJobs, internal

        crons = CronJobs()
        crons.cron("never", "0 0 30 2 *", internal.testapp.scheduling.bump)
    """
    },
    "cronsc": {
        "crons.py": """
        from reactive import CronJobs, api, internal

        crons = CronJobs()
        crons.interval("nowhere", {"minutes": 1}, internal.nope.run)
        crons.interval("a query", {"minutes": 1}, api.testapp.ping)
        crons.interval("typo", {"minutes": 1}, internal.testapp.scheduling.bump, {"nme": "x"})
        crons.interval("fine", {"minutes": 1}, internal.testapp.scheduling.bump, {"name": "x"})
    """
    },
}
CRON_APP_SETTINGS = 'INSTALLED_APPS = [*INSTALLED_APPS, "cronsa", "cronsb", "cronsc"]\n'
E021 = [
    "cronsa.crons: cron 'late': hour_utc must be an integer from 0 to 23, got 25",
    "cronsb.crons: cron 'never': '0 0 30 2 *' never matches a date",
    "cron 'nowhere': cannot schedule internal.nope.run: Could not find function for 'nope:run'",
    "cron 'a query': cannot schedule testapp:ping: it is a query; schedule a mutation or an action",
    "cron 'typo': ArgumentValidationError in testapp/scheduling:bump: Object is missing the "
    "required field `name`. Object contains extra field `nme` that is not in the validator.",
]


def test_cron_mistakes_are_one_line_each(tmp_path):
    code, out = run_manage(tmp_path, CRON_APP_SETTINGS, apps=CRON_APPS)
    assert code == 1, out
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if "(reactive.E021)" in line]
    for expected in E021:
        assert sum(f"(reactive.E021) {expected}" in line for line in lines) == 1, (expected, out)
    assert len(lines) == len(E021), out
    assert "'fine'" not in out


def test_the_worker_refuses_bad_crons_in_one_line(tmp_path):
    code, out = run_manage(
        tmp_path,
        'INSTALLED_APPS = [*INSTALLED_APPS, "cronsc"]\n',
        apps={"cronsc": CRON_APPS["cronsc"]},
        args=("reactive", "worker"),
    )
    assert code == 1 and "Traceback" not in out, out
    assert "(reactive.E021) cron 'typo': ArgumentValidationError" in out
    # without the system checks, the worker itself stops at the first bad cron
    code, out = run_manage(
        tmp_path,
        'INSTALLED_APPS = [*INSTALLED_APPS, "cronsa"]\n',
        apps={"cronsa": CRON_APPS["cronsa"]},
        args=("reactive", "--skip-checks", "worker"),
    )
    assert code == 1 and "Traceback" not in out, out
    assert out.strip().splitlines()[-1] == (
        "CommandError: cronsa.crons: cron 'late': hour_utc must be an integer from 0 to 23, got 25"
    )
