"""Index discovery: creation time inside an index, table-prefixed names, unusable indexes."""

from __future__ import annotations

import pytest
from django.db import models
from django.test.utils import isolate_apps

from reactive.db.tables import Table, TableRegistry, tables
from reactive.models import ReactiveModel


@pytest.fixture
def sample() -> Table:
    # an isolated app registry: the model never joins testapp (or its migrations)
    with isolate_apps("tests.testapp"):

        class Sample(ReactiveModel):
            channel = models.IntegerField()
            secret = models.CharField(max_length=10)

            class Meta:
                app_label = "testapp"
                managed = False
                indexes = [
                    models.Index(fields=["channel", "creation_time"], name="samples_by_channel"),
                    models.Index(fields=["secret"], name="samples_by_secret"),
                    models.Index(models.functions.Lower("secret"), name="samples_lower"),
                    models.Index(
                        fields=["channel"],
                        name="samples_partial",
                        condition=models.Q(channel__gt=0),
                    ),
                ]

        table = tables.register(Sample, "samples", exclude=("secret",))
        yield table
        tables.unregister("samples")


def test_creation_time_in_an_index_and_short_names(sample: Table):
    index = sample.indexes["by_channel"]
    full = sample.indexes["samples_by_channel"]
    assert (full.fields, full.key_columns) == (index.fields, index.key_columns)
    assert index.fields == ("channel", "_creationTime")
    assert index.key_columns == ("channel", "creation_time", "id")


def test_unusable_indexes_are_reported(sample: Table):
    assert "by_secret" not in sample.indexes
    assert sorted(sample.unusable_indexes()) == [
        "samples_by_secret",
        "samples_lower",
        "samples_partial",
    ]
    from django.core import checks

    warned = [m for m in checks.run_checks() if m.id == "reactive.W007"]
    assert {m.msg.split("'")[1] for m in warned} == {
        "samples_by_secret",
        "samples_lower",
        "samples_partial",
    }


def test_followers_hear_of_tables_registered_before_and_after():
    # a registry of its own: its followers are told of each model's latest table, then of each
    # one registered or unregistered later
    registry = TableRegistry()
    heard: list[tuple[str, str]] = []

    def registered(table: Table) -> None:
        heard.append(("+", table.name))

    def unregistered(table: Table) -> None:
        heard.append(("-", table.name))

    with isolate_apps("tests.testapp"):

        class Early(models.Model):
            class Meta:
                app_label = "testapp"
                managed = False

        class Late(models.Model):
            class Meta:
                app_label = "testapp"
                managed = False

        registry.register(Early, "early_v1")
        registry.register(Early, "early")  # the model's latest table replaces the first
        registry.follow(registered, unregistered)
        registry.follow(registered, unregistered)  # following twice changes nothing
        assert heard == [("+", "early")]
        registry.register(Late, "late", capture=False)
        assert heard[-1] == ("+", "late") and not registry.get("late").capture
        registry.unregister("late")
        registry.unregister("early_v1")  # not the model's table any more: nothing to hear
        assert heard == [("+", "early"), ("+", "late"), ("-", "late")]
