"""ctx.db: tables, documents, queries, and the recording reader and writer."""
