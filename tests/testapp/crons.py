"""Crons of the test app (registered by workers and `reactive.testing.run_crons`)."""

from __future__ import annotations

from reactive import CronJobs, internal

crons = CronJobs()
crons.interval(
    "bump every second",
    {"seconds": 1},
    internal.testapp.scheduling.bump,
    {"name": "cron:every-second"},
)
crons.daily(
    "daily bump",
    {"hour_utc": 3, "minute_utc": 30},
    internal.testapp.scheduling.bump,
    {"name": "cron:daily"},
)
