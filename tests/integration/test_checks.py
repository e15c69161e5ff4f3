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

@pytest.mark.parametrize("given, line", [
    ({"LIMITS": {"function_seconds": "fast"}},
     "REACTIVE['LIMITS']['function_seconds']: expected a positive number, got 'fast'"),
    ({"LIMITS": {"function_seconds": -1}},
     "REACTIVE['LIMITS']['function_seconds']: expected a positive number, got -1"),
    ({"LIMITS": {"documents_read": 2.5}},
     "REACTIVE['LIMITS']['documents_read']: expected a positive integer, got 2.5"),
    ({"RETRY": {"max_attempts": True}},
     "REACTIVE['RETRY']['max_attempts']: expected a positive integer, got True"),
    ({"RETRY": {"lock_timeout_ms": -5}},
     "REACTIVE['RETRY']['lock_timeout_ms']: expected a non-negative number, got -5"),
    ({"SYNC": {"notify_executor_writes": "yes"}},
     "REACTIVE['SYNC']['notify_executor_writes']: expected True or False, got 'yes'"),
    ({"SYNC": {"ping_seconds": float("nan")}},
     "REACTIVE['SYNC']['ping_seconds']: expected a positive number, got nan"),
    ({"SCHEDULER": {"crons_module": "my-crons"}},
     "REACTIVE['SCHEDULER']['crons_module']: expected a module name like 'functions', "
     "got 'my-crons'"),
    ({"CORS_TRUSTED_ORIGINS": "https://a.example"},
     "REACTIVE['CORS_TRUSTED_ORIGINS']: expected a list of strings, got 'https://a.example'"),
    ({"SESSION_ISSUER": ""}, "REACTIVE['SESSION_ISSUER']: expected a non-empty string, got ''"),
    ({"LIMITS": 5}, "REACTIVE['LIMITS']: expected a dict, got 5"),
    (["x"], "REACTIVE: expected a dict, got ['x']"),
    ({"LIMIT": {}}, "REACTIVE['LIMIT']: unknown setting; did you mean 'LIMITS'?"),
    ({"LIMITS": {"documents_red": 1}},
     "REACTIVE['LIMITS']['documents_red']: unknown setting; did you mean 'documents_read'?"),
    ({"NOT_A_KEY": 1}, "REACTIVE['NOT_A_KEY']: unknown setting; see docs/settings.md"),
])
def test_each_bad_setting_is_one_check_error(given, line):
    with override_settings(REACTIVE=given):
        assert reactive_errors("reactive.E004") == [line]
        with pytest.raises(ConfigurationError, match="run manage.py check"):
            reactive_settings.LIMITS  # noqa: B018 - calls fail until it is fixed
        # start-up code gets the default in its place
        assert reactive_settings.lenient.LIMITS.function_seconds == 1.0


def test_valid_settings_pass_and_keep_their_values():
    given = {"LIMITS": {"function_seconds": 2, "documents_read": 10},
             "RETRY": {"lock_timeout_ms": 0}, "SYNC": {"gil_switch_interval_ms": None},
             "REFUSE_NETWORK_IN_TRANSACTIONS": None, "CORS_TRUSTED_ORIGINS": ("https://a.b",)}
    with override_settings(REACTIVE=given):
        assert reactive_errors("reactive.E004") == []
        assert reactive_settings.LIMITS.function_seconds == 2
        assert reactive_settings.RETRY.lock_timeout_ms == 0
        assert reactive_settings.CORS_TRUSTED_ORIGINS == ("https://a.b",)


def test_bad_settings_do_not_crash_start_up(tmp_path):
    code, out = run_manage(tmp_path, """
        REACTIVE = {"LIMITS": {"function_seconds": "fast"}, "UNKNOWN": 1, "SYNC": []}
    """)
    assert code == 1, out
    assert "Traceback" not in out
    assert ("(reactive.E004) REACTIVE['LIMITS']['function_seconds']: expected a positive number, "
            "got 'fast'") in out
    assert "(reactive.E004) REACTIVE['UNKNOWN']: unknown setting" in out
    assert "(reactive.E004) REACTIVE['SYNC']: expected a dict, got []" in out


def test_a_list_for_reactive_does_not_crash_start_up(tmp_path):
    code, out = run_manage(tmp_path, 'REACTIVE = ["x"]\n')
    assert code == 1 and "Traceback" not in out, out
    assert "(reactive.E004) REACTIVE: expected a dict, got ['x']" in out
