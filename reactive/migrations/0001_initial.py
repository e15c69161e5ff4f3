"""The change log, the capture function, listeners, and stored mutation results."""

from __future__ import annotations

from django.db import migrations, models

from reactive.changelog.sql import sql


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.RunSQL(sql("create_change_log"), sql("drop_change_log")),
        migrations.CreateModel(
            name="Listener",
            fields=[
                ("id", models.UUIDField(primary_key=True, serialize=False)),
                ("snapshot", models.TextField()),
                ("heartbeat", models.DateTimeField()),
            ],
            options={"db_table": "reactive_listener"},
        ),
        migrations.CreateModel(
            name="MutationResult",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("session_id", models.CharField(max_length=64)),
                ("request_id", models.BigIntegerField()),
                ("response", models.JSONField()),
                ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={
                "db_table": "reactive_mutation_result",
                "constraints": [models.UniqueConstraint(fields=["session_id", "request_id"],
                                                        name="reactive_mutation_once")],
            },
        ),
    ]
