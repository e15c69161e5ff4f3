"""The scheduler: `ctx.scheduler`, the worker that runs scheduled functions, and crons.

| module          | job                                                                  |
|-----------------|----------------------------------------------------------------------|
| states          | `State`: pending, inProgress, success, failed, canceled               |
| system_table    | `_scheduled_functions` as a read-only, reactive system table         |
| schedule        | `ctx.scheduler`: run_after / run_at / cancel, checked and atomic     |
| jobs            | deferring and cancelling a row's procrastinate job                   |
| runner          | runs one scheduled function: mutations once, actions at most once;   |
|                 | the procrastinate task that a job names                              |
| crons           | `CronJobs`: crons declared in code, and their schedules              |
| cron_table      | registers declared crons in the database and schedules due runs      |
| worker          | `manage.py reactive worker`: jobs, crons, recovery, pruning          |

`states`, `system_table`, `jobs` and `schedule` sit below the executor (whose frames build
``ctx.scheduler`` from `schedule`); `runner`, `cron_table` and `worker` sit above it.
"""
