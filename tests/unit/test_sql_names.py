"""Which relation names a SQL statement reads (reactive.db.sql_names)."""

from __future__ import annotations

import pytest

from reactive.db.sql_names import CACHED_LENGTH, read_names

MSG, CHAN = "app_message", "app_channel"


def reads(sql: str) -> set[str]:
    """The statement's read names among the two 'registered' tables of these tests."""
    return set(read_names(sql)) & {MSG, CHAN, "app_message_archive", "Mixed Case"}


@pytest.mark.parametrize(
    "sql, expected",
    [
        # quoted (Django's spelling) and unquoted, any case
        ('SELECT COUNT(*) AS "__count" FROM "app_message"', {MSG}),
        ("select count(*) from app_message", {MSG}),
        ("SELECT * FROM APP_MESSAGE", {MSG}),
        # schema-qualified, quoted or not; the schema is not a table
        ('SELECT * FROM public.app_message, "public"."app_channel"', {MSG, CHAN}),
        # joins, with aliases and column qualifiers
        (
            "SELECT m.id FROM app_message m JOIN app_channel AS c ON c.id = m.channel_id",
            {MSG, CHAN},
        ),
        (
            'SELECT "app_message"."id" FROM "app_message" INNER JOIN "app_channel" '
            'ON ("app_message"."channel_id" = "app_channel"."id")',
            {MSG, CHAN},
        ),
        # subqueries, EXISTS, CTEs
        ("SELECT * FROM x WHERE id IN (SELECT channel_id FROM app_message)", {MSG}),
        ("SELECT EXISTS (SELECT 1 FROM app_channel WHERE id = %s)", {CHAN}),
        (
            "WITH recent AS (SELECT * FROM app_message ORDER BY id DESC LIMIT 5) "
            "SELECT count(*) FROM recent",
            {MSG},
        ),
        # a table name that is a prefix / substring of another
        ("SELECT * FROM app_message_archive", {"app_message_archive"}),
        ("SELECT * FROM app_messages", set()),
        ("SELECT * FROM my_app_message", set()),
        # quoted identifiers are case-sensitive and may hold anything
        ('SELECT * FROM "Mixed Case"', {"Mixed Case"}),
        ('SELECT * FROM "APP_MESSAGE"', set()),
        ('SELECT * FROM U&"app\\005fmessage"', {MSG}),
        # names inside literals, dollar quotes and comments are not reads
        ("SELECT 'app_message', E'it\\'s app_channel' FROM t", set()),
        ("SELECT $$ app_message $$, $tag$ app_channel $x$ $tag$ FROM t", set()),
        ("SELECT 1 -- FROM app_message\n", set()),
        ("SELECT 1 /* outer /* nested */ app_message */ FROM t", set()),
        ("SELECT 'C:\\' , app_message FROM t", {MSG}),  # standard strings: the backslash is text
        ("SELECT $1 FROM app_message", {MSG}),
        # a function named like nothing in particular is not a table
        ("SELECT app_message(1)", set()),
    ],
)
def test_select_reads(sql: str, expected: set[str]) -> None:
    assert reads(sql) == expected


@pytest.mark.parametrize(
    "sql, expected",
    [
        # the written table is seen by the triggers: not a read
        ('INSERT INTO "app_message" ("body") VALUES (%s) RETURNING "app_message"."id"', set()),
        (
            'UPDATE "app_message" SET "score" = ("app_message"."score" + 1) '
            'WHERE "app_message"."id" = %s',
            set(),
        ),
        ("DELETE FROM ONLY public.app_message WHERE id = 1", set()),
        ("TRUNCATE TABLE app_message, ONLY app_channel", set()),
        # ...but what a write reads besides is
        ("INSERT INTO app_message (body) SELECT name FROM app_channel", {CHAN}),
        (
            "UPDATE app_message SET score = 0 FROM app_channel WHERE app_channel.id = channel_id",
            {CHAN},
        ),
        ("DELETE FROM app_message USING app_channel WHERE app_channel.id = channel_id", {CHAN}),
        ("DELETE FROM app_message WHERE id IN (SELECT id FROM app_message LIMIT 3)", {MSG}),
        (
            "MERGE INTO app_message t USING app_channel s ON t.id = s.id WHEN MATCHED THEN DELETE",
            {CHAN},
        ),
        (
            "WITH gone AS (DELETE FROM app_channel RETURNING id) SELECT count(*) FROM app_message",
            {MSG},
        ),
        # FOR UPDATE is a read (and not a write target)
        ('SELECT * FROM "app_message" FOR UPDATE OF "app_message"', {MSG}),
    ],
)
def test_write_statements(sql: str, expected: set[str]) -> None:
    assert reads(sql) == expected


def test_long_statements_are_parsed_without_the_cache() -> None:
    values = ", ".join(["(%s)"] * (CACHED_LENGTH // 4))
    sql = f"INSERT INTO app_message (body) VALUES {values}"
    assert len(sql) > CACHED_LENGTH and reads(sql) == set()
    assert reads(f"SELECT * FROM app_channel WHERE id IN ({values})") == {CHAN}


def test_unterminated_literals_do_not_raise() -> None:
    for sql in ("SELECT 'abc", 'SELECT "abc', "SELECT $$abc", "SELECT /* abc", "SELECT E'a\\"):
        assert reads(sql) == set()
