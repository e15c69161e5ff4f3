"""Change capture: every write to a registered table, from anywhere, lands in one change log.

The data flow, one module per step:

1. `triggers.py` declares two pgtrigger triggers on each registered table's model (row-level for
   inserts, updates and deletes; statement-level for TRUNCATE). `ReactiveConfig.ready()` has it
   follow the table registry (`db.tables`), so tables registered before start-up and those
   registered later (tests, `register_table` at run time) get them; the model's app's
   migrations install them in Postgres.
2. `schema.sql` (through `sql.py`, run by reactive's migration 0001) creates the log table
   `reactive_change` and `reactive_capture_v1`, the one function every trigger calls: it appends
   the table's name, the op and the index-key columns of the old and new row, with the writing
   transaction's id, and NOTIFYs `reactive_changes`.
3. `changes.py` reads the log back by transaction visibility (rows committed between two of the
   sync listener's snapshots) as `DocWrite`s, and prunes what every live listener has passed.

`db/tables.py` knows nothing of this package: it records each table (and whether its writes are
captured) and tells whoever follows it.
"""
