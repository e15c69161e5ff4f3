"""A Convex app ported to Django, driven by its own unmodified React front end in chromium.

tests/ported/convex_src is the app as its authors wrote it for Convex: convex/schema.ts and the
TypeScript functions, and src/App.tsx on `usePaginatedQuery`, `useQuery` and `useMutation` of the
official `convex` npm package. tests/ported/portapp is its Python port: models.py as
`manage.py reactive convex-schema` writes it, and one Python module per .ts file in the package
that `REACTIVE["FUNCTIONS_ROOT"]` names, so `api.messages.list` reaches `messages.py: list_`.

The module serves the port with daphne and the scheduler's worker on a database of its own
(created, migrated and filled here, dropped afterwards), writes `convex/_generated` with
`manage.py reactive codegen` into a copy of the front end, bundles it with esbuild (the
server's URL as Vite's `VITE_CONVEX_URL`) and opens it in two chromium pages. Both halves are
type-checked: the Convex source against its schema, the front end against codegen's output.
Needs `npm ci` in tests/ported/convex_src (`python3 dev.py test` does it) and /usr/bin/chromium.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent.parent
PORTED = ROOT / "tests" / "ported"
CONVEX_SRC = PORTED / "convex_src"
SETTINGS = "tests.ported.settings"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
WAIT_MS = 5000
PAGE_SIZE = 5  # App.tsx: initialNumItems and loadMore
CHANNEL = "general"  # App.tsx

# The app's data: twelve messages in #general, oldest first.
AUTHORS = ["ada", "grace"]
MESSAGES = [(AUTHORS[i % 2], f"message {i + 1}") for i in range(12)]


# -- the data as `npx convex export` writes it -------------------------------------------------

_CONVEX_BASE32 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghjkmnpqrstvwxyz"
)


def convex_id(table_number: int, internal: bytes) -> str:
    """A document id in Convex's format: the table number (a varint) and 16 bytes, then a
    Fletcher-16 checksum of both (little-endian, XOR version 0), in lowercase Crockford base32
    without padding (crates/value/src/id_v6.rs of get-convex/convex-backend)."""
    assert len(internal) == 16
    head = bytearray()
    n = table_number
    while n >= 0x80:
        head.append((n & 0x7F) | 0x80)
        n >>= 7
    head.append(n)
    data = bytes(head) + internal
    c0 = c1 = 0
    for byte in data:
        c0 = (c0 + byte) & 0xFF
        c1 = (c1 + c0) & 0xFF
    data += bytes([c0, c1])
    return base64.b32encode(data).decode().rstrip("=").translate(_CONVEX_BASE32)


def _internal_id(table: str, n: int) -> bytes:
    """16 bytes as random-looking as Convex's, and the same on every run."""
    return hashlib.sha256(f"{table}:{n}".encode()).digest()[:16]


def build_export_zip(path: Path) -> Path:
    """The app's data as a Convex snapshot export ZIP: README.md, `_tables/documents.jsonl`
    (each user table's name and number), and per table `<table>/documents.jsonl` (one document
    a line, keys sorted as Convex objects keep them; v.number() values as floats, `0.0`) and
    `<table>/generated_schema.jsonl` (`"uniform"`), as crates/exports of convex-backend writes
    them."""
    numbers = {"authors": 10001, "messages": 10002, "typing": 10003}
    start = 1_764_700_000_000.0
    ids: dict[str, str] = {}
    authors = []
    for i, name in enumerate(AUTHORS):
        ids[name] = convex_id(numbers["authors"], _internal_id("authors", i))
        authors.append({"_creationTime": start + i, "_id": ids[name], "name": name})
    messages = [
        {
            "_creationTime": start + 1000.0 * (i + 1) + 0.25,
            "_id": convex_id(numbers["messages"], _internal_id("messages", i)),
            "author": ids[author],
            "body": body,
            "channel": CHANNEL,
            "likes": 0.0,
        }
        for i, (author, body) in enumerate(MESSAGES)
    ]
    tables = {"authors": authors, "messages": messages, "typing": []}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.md", "# Welcome to your Convex snapshot export!\n")
        archive.writestr(
            "_tables/documents.jsonl",
            "".join(
                json.dumps({"name": t, "id": n}, separators=(",", ":")) + "\n"
                for t, n in numbers.items()
            ),
        )
        for table, documents in tables.items():
            lines = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in documents)
            archive.writestr(f"{table}/documents.jsonl", lines)
            archive.writestr(f"{table}/generated_schema.jsonl", '"uniform"\n')
    return path


def test_export_zip_fixture_has_convex_ids_and_layout(tmp_path: Path) -> None:
    # varint 01, sixteen zero bytes and the footer 01 11: 19 bytes, 31 characters; a table
    # number of two varint bytes makes 20 bytes, 32 characters (base32.rs encoded_len)
    assert convex_id(1, bytes(16)) == "0400000000000000000000000000248"
    one = convex_id(10002, _internal_id("messages", 0))
    assert len(one) == 32 and set(one) <= set("0123456789abcdefghjkmnpqrstvwxyz")
    with zipfile.ZipFile(build_export_zip(tmp_path / "export.zip")) as archive:
        names = set(archive.namelist())
        tables = [json.loads(line) for line in archive.read("_tables/documents.jsonl").splitlines()]
        messages = [
            json.loads(line) for line in archive.read("messages/documents.jsonl").splitlines()
        ]
    assert {"README.md", "_tables/documents.jsonl", "messages/documents.jsonl"} <= names
    assert {t["name"] for t in tables} == {"authors", "messages", "typing"}
    assert [m["body"] for m in messages] == [body for _, body in MESSAGES]
    assert b'"likes":0.0' in zipfile.ZipFile(tmp_path / "export.zip").read(
        "messages/documents.jsonl"
    )


def test_the_models_are_what_convex_schema_writes() -> None:
    """portapp/models.py is `manage.py reactive convex-schema` run on the app's schema.ts."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=SETTINGS)
    schema = CONVEX_SRC / "convex" / "schema.ts"
    written = _manage(env, "reactive", "convex-schema", str(schema), "--stdout")
    assert written == (PORTED / "portapp" / "models.py").read_text()


# What `npx convex codegen` gives a Convex project's functions (it needs a deployment to run):
# the builders and ctx types over the schema's data model, written here with the convex
# package's own generics, so `tsc` checks convex/*.ts as Convex's own tooling would.
CONVEX_GENERATED = {
    "dataModel.ts": """
import type { DataModelFromSchemaDefinition, DocumentByName, TableNamesInDataModel }
  from "convex/server";
import type { GenericId } from "convex/values";
import schema from "../schema";
export type DataModel = DataModelFromSchemaDefinition<typeof schema>;
export type TableNames = TableNamesInDataModel<DataModel>;
export type Doc<T extends TableNames> = DocumentByName<DataModel, T>;
export type Id<T extends TableNames> = GenericId<T>;
""",
    "server.ts": """
import { internalMutationGeneric, mutationGeneric, queryGeneric } from "convex/server";
import type { GenericMutationCtx, GenericQueryCtx, MutationBuilder, QueryBuilder }
  from "convex/server";
import type { DataModel } from "./dataModel";
export const query: QueryBuilder<DataModel, "public"> = queryGeneric;
export const mutation: MutationBuilder<DataModel, "public"> = mutationGeneric;
export const internalMutation: MutationBuilder<DataModel, "internal"> = internalMutationGeneric;
export type QueryCtx = GenericQueryCtx<DataModel>;
export type MutationCtx = GenericMutationCtx<DataModel>;
""",
    "api.ts": """
import { anyApi } from "convex/server";
export const api: any = anyApi;
export const internal: any = anyApi;
""",
}


def test_the_convex_source_is_valid_convex(tmp_path: Path) -> None:
    """convex_src/convex/*.ts compiles (`tsc`, strict) against the schema's data model: the
    original really is a Convex app (its index names, field types, ctx methods)."""
    project = tmp_path / "convex_src"
    shutil.copytree(CONVEX_SRC / "convex", project / "convex")
    (project / "node_modules").symlink_to(CONVEX_SRC / "node_modules")
    for name, text in CONVEX_GENERATED.items():
        (project / "convex" / "_generated").mkdir(exist_ok=True)
        (project / "convex" / "_generated" / name).write_text(text)
    options = {"target": "ES2021", "lib": ["ES2021"], "module": "ESNext", "strict": True}
    options |= {"moduleResolution": "Bundler", "skipLibCheck": True, "noEmit": True}
    config = {"compilerOptions": options, "include": ["convex"]}
    (project / "tsconfig.json").write_text(json.dumps(config))
    tsc = CONVEX_SRC / "node_modules" / ".bin" / "tsc"
    done = subprocess.run([str(tsc), "-p", "."], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# -- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tests_database_url() -> str:
    """The tests' Postgres: DATABASE_URL, which loading tests.settings sets when it is unset."""
    from django.conf import settings

    settings.DATABASES  # noqa: B018 - load the settings
    return os.environ["DATABASE_URL"]


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def _call(url: str, kind: str, path: str, args: dict[str, Any]) -> Any:
    """A function call over Convex's HTTP API; its value (the call must succeed)."""
    body = {"path": path, "args": args, "format": "json"}
    answer = requests.post(f"{url}/api/{kind}", json=body, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["value"]


def _front_end(web: Path) -> Path:
    """A copy of the front end, unmodified, with the project's node_modules; its
    convex/_generated is left for codegen to write."""
    assert (CONVEX_SRC / "node_modules" / ".bin" / "esbuild").exists(), (
        "run `npm ci` in tests/ported/convex_src (`python3 dev.py test` does)"
    )
    shutil.copytree(
        CONVEX_SRC, web, ignore=shutil.ignore_patterns("node_modules", "_generated", "dist")
    )
    (web / "node_modules").symlink_to(CONVEX_SRC / "node_modules")
    return web


def _bundle(web: Path, url: str) -> None:
    """esbuild, as Vite would build it: the deployment's URL is VITE_CONVEX_URL."""
    done = subprocess.run(
        [str(web / "node_modules" / ".bin" / "esbuild"), "src/main.tsx", "--bundle"]
        + ["--jsx=automatic", "--format=iife", "--target=es2020", "--log-level=warning"]
        + ["--outfile=dist/app.js", f"--define:import.meta.env.VITE_CONVEX_URL={json.dumps(url)}"],
        cwd=web,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"esbuild failed:\n{done.stdout}{done.stderr}"


@dataclass
class Server:
    url: str
    web: Path  # the bundled front end: index.html and dist/app.js


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """daphne and the worker serving the port on a database of its own, filled with the app's
    data; the front end bundled against it."""
    tmp_path = tmp_path_factory.mktemp("ported")
    name = f"test_ported_app_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_url = _tests_database_url()
    db_url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE=SETTINGS, DATABASE_URL=db_url, PYTHONUNBUFFERED="1"
    )
    log_path = tmp_path / "daphne.log"
    daphne = worker = None
    try:
        web = _front_end(tmp_path / "web")
        export = build_export_zip(tmp_path / "export.zip")
        # One process (Django starts once): migrate; the data, from the Convex deployment's
        # export (every _id is a new one here, and the messages' `author` ids follow their
        # authors); then the front end's convex/_generated, from the port's functions.
        steps = "from django.core.management import call_command as c; "
        steps += "c('migrate', '--no-input', '-v', '0'); "
        steps += f"c('reactive', 'import', {str(export)!r}); "
        steps += f"c('reactive', 'codegen', '--out', {str(web / 'convex' / '_generated')!r})"
        done = _manage(env, "shell", "-c", steps)
        assert "messages" in done, done
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            daphne = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port)]
                + ["tests.ported.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "reactive", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _bundle(web, url)  # while the servers start
        deadline = time.monotonic() + 20
        while True:
            assert daphne.poll() is None, f"daphne exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"daphne did not start:\n{log_path.read_text()}"
            try:
                ready = {"path": "stats:default", "args": {}, "format": "json"}
                requests.post(url + "/api/query", json=ready, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield Server(url, web)
    finally:
        for process in (worker, daphne):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if log_path.exists():
            print(f"--- daphne log, shown when a test fails ---\n{log_path.read_text()[-4000:]}")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the pages ---------------------------------------------------------------------------------


class Pages:
    """The module's browser; each page in a context of its own, on the front end's own origin
    (a static file server, as a Convex app's front end is hosted apart from its backend)."""

    def __init__(self, browser: Browser, front: str) -> None:
        self.browser, self.front = browser, front
        self.problems: list[str] = []

    def open(self, name: str) -> Page:
        page = self.browser.new_context().new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda e: self.problems.append(f"{name}: {e}"))
        page.goto(f"{self.front}/index.html?name={name}")
        expect(page.locator("#stats")).not_to_have_text("…")  # the first result arrived
        return page


@contextlib.contextmanager
def _static_server(folder: Path) -> Iterator[str]:
    """An HTTP server of ``folder`` on a free port of 127.0.0.1, in a thread; its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            thread.join(timeout=5)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pages(server: Server) -> Iterator[Pages]:
    with _static_server(server.web) as front, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield Pages(browser, front)
        finally:
            browser.close()


@pytest.fixture(scope="module")
def ada(pages: Pages) -> Page:
    return pages.open("ada")


@pytest.fixture(scope="module")
def bob(pages: Pages) -> Page:
    return pages.open("bob")


def _bodies(page: Page) -> Any:
    return page.locator("#messages li.message .body")


def _send(page: Page, body: str) -> None:
    page.fill("#send input[name=body]", body)
    page.press("#send input[name=body]", "Enter")


newest_first = [body for _, body in reversed(MESSAGES)]


def test_the_first_page_shows_the_five_newest(ada: Page) -> None:
    expect(_bodies(ada)).to_have_text(newest_first[:PAGE_SIZE])
    authors = [author for author, _ in reversed(MESSAGES)][:PAGE_SIZE]
    expect(ada.locator("#messages li.message .author")).to_have_text(authors)
    expect(ada.locator("#stats")).to_have_text("12 messages, 0 likes")


def test_load_more_shows_the_next_pages(ada: Page) -> None:
    ada.click("#more")
    expect(_bodies(ada)).to_have_text(newest_first[: 2 * PAGE_SIZE])
    ada.click("#more")
    expect(_bodies(ada)).to_have_text(newest_first)  # the last page: two, and done
    expect(ada.locator("#more")).to_have_text("That is all")
    expect(ada.locator("#more")).to_be_disabled()


def test_a_message_sent_from_another_page_shows_live(ada: Page, bob: Page) -> None:
    _send(bob, "hello from bob")
    for page in (ada, bob):
        expect(_bodies(page).first).to_have_text("hello from bob")
        expect(page.locator("#messages li.message .author").first).to_have_text("bob")
    expect(_bodies(ada)).to_have_count(len(MESSAGES) + 1)  # ada's loaded pages grew in place
    expect(bob.locator("#send input[name=body]")).to_have_value("")


def test_the_scheduled_reminder_shows(ada: Page, bob: Page) -> None:
    _send(bob, "/remind stand up")
    expect(_bodies(ada).first).to_have_text("/remind stand up")
    # messages:remind, run by the worker a second later
    expect(_bodies(ada).first).to_have_text("Reminder: stand up", timeout=10_000)
    expect(ada.locator("#messages li.message .author").first).to_have_text("bot")


def test_a_convex_error_shows_its_data(ada: Page, bob: Page) -> None:
    _send(bob, "x" * 201)
    expect(bob.locator("#error")).to_have_text("TOO_LONG: 201 characters, at most 200")
    expect(bob.locator("#send input[name=body]")).to_have_value("x" * 201)  # kept, not sent
    expect(ada.locator("#stats")).to_have_text("15 messages, 0 likes")  # 12 + 2 + the bot's


def test_an_args_less_mutation_and_a_default_export(ada: Page, bob: Page) -> None:
    ada.locator("#messages li.message .like").first.click()  # messages:like, no validator
    expect(bob.locator("#messages li.message .like").first).to_have_text("♥ 1")
    expect(bob.locator("#stats")).to_have_text("15 messages, 1 likes")  # stats:default


def test_the_front_end_type_checks_against_codegen(server: Server) -> None:
    """App.tsx, unmodified, compiles (`tsc`, strict) against the `convex/_generated` that
    codegen wrote from the port: the paths, the arguments, usePaginatedQuery's contract."""
    tsc = CONVEX_SRC / "node_modules" / ".bin" / "tsc"
    done = subprocess.run(
        [str(tsc), "--noEmit", "-p", "."], cwd=server.web, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_long_index_and_a_renamed_function(server: Server) -> None:
    grace = _call(server.url, "query", "authors:get", {"name": "grace"})
    oldest = _call(
        server.url,
        "query",
        "messages:list",
        {"channel": CHANNEL, "paginationOpts": {"numItems": 100, "cursor": None}},
    )["page"][-1]
    assert (oldest["body"], oldest["author"]) == (
        "message 1",
        _call(server.url, "query", "authors:get", {"name": "ada"})["_id"],
    )
    mine = [b for a, b in reversed(MESSAGES) if a == "grace"]  # equal likes: newest first
    liked = _call(
        server.url, "query", "messages:byAuthor", {"channel": CHANNEL, "author": grace["_id"]}
    )
    assert [r["body"] for r in liked] == mine
    # messages:like takes any arguments: the extra key is dropped
    _call(server.url, "mutation", "messages:like", {"id": liked[-1]["_id"], "from": "test"})
    liked = _call(
        server.url, "query", "messages:byAuthor", {"channel": CHANNEL, "author": grace["_id"]}
    )
    assert [r["body"] for r in liked] == [mine[-1], *mine[:-1]]  # most liked first
    assert liked[0]["likes"] == 1


def test_date_now_and_a_filter(server: Server) -> None:
    """typing:start sets `until` from ctx.now (Date.now()); typing:who reads a range of it."""
    before = time.time() * 1000
    _call(server.url, "mutation", "typing:start", {"channel": CHANNEL, "author": "grace"})
    _call(server.url, "mutation", "typing:start", {"channel": CHANNEL, "author": "grace"})  # patch
    assert _call(server.url, "query", "typing:who", {"channel": CHANNEL, "now": before}) == [
        "grace"
    ]
    later = before + 60_000
    assert _call(server.url, "query", "typing:who", {"channel": CHANNEL, "now": later}) == []


def test_no_page_failed(pages: Pages) -> None:
    assert pages.problems == []
