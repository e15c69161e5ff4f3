"""The admin's activity figures, collected cheaply in every process: call counts, durations and
read and write counts per function and minute, retried and conflicting calls (`stats`, fed by
the executor), live subscriptions per function (`live`, read from the sync engine),
and their periodic write to the database (`flush`). See docs/admin.md."""
