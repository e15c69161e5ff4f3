"""The scheduler: `ctx.scheduler`, the worker that runs scheduled functions, and crons.

| module          | job                                                                  |
|-----------------|----------------------------------------------------------------------|
| states          | `State`: pending, inProgress, success, failed, canceled               |
| system_table    | `_scheduled_functions` as a read-only, reactive system table         |
| schedule        | `ctx.scheduler`: run_after / run_at / cancel, checked and atomic     |
| jobs            | the procrastinate task and the calls that defer and cancel its jobs  |
| runner          | runs one scheduled function: mutations once, actions at most once    |
| crons           | `CronJobs`: crons declared in code, and their schedules              |
| cron_table      | registers declared crons in the database and schedules due runs      |
| worker          | `manage.py reactive worker`: jobs, crons, recovery, pruning          |
"""
