from __future__ import annotations

import os

from django.apps import AppConfig


class TestappConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Fault injection for the worker tests: a worker started with this variable kills
        # itself (SIGKILL, no cleanup) right after a mutation of this path commits.
        crash_after = os.environ.get("REACTIVE_TEST_CRASH_AFTER_COMMIT")
        if crash_after:
            import signal

            from reactive.functions.signals import mutation_committed

            def crash(sender: object, outcome: object, **kwargs: object) -> None:
                if getattr(outcome, "path", None) == crash_after:
                    os.kill(os.getpid(), signal.SIGKILL)

            mutation_committed.connect(crash, weak=False)
