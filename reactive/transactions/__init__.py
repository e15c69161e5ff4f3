"""Running a function body in one Postgres transaction, with retries."""
