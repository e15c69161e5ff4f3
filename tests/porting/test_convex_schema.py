"""`manage.py reactive convex-schema`: a Convex schema.ts → Django models that migrate on the real
Postgres and answer `ctx.db` as the Convex tables did.

The schema (tests/porting/schema_project/convex/schema.ts) uses every validator kind, index names
longer than Django's 30 characters, a search index and a vector index. It is evaluated by the
real `convex` npm package under Node: tests/codegen/js's node_modules (convex 1.48.0 and its
esbuild), linked beside the schema as a project's own would be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from reactive.porting import STARTAPP_MODELS

ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT = Path(__file__).with_name("schema_project")
NODE_MODULES = ROOT / "tests" / "codegen" / "js" / "node_modules"

FUNCTIONS = """
from reactive import api, mutation, query


@mutation
def seed(ctx):
    ann = ctx.db.insert("users", {"name": "Ann", "handle": "ann", "karma": 2**40, "admin": True,
                                  "key": b"\\x00\\xff", "level": 2})
    bob = ctx.db.insert("users", {"name": "Bob", "handle": "bob", "karma": 0, "admin": False,
                                  "key": b"", "level": 1, "pinned": True})
    job = ctx.scheduler.run_after(60_000, api.ported.drop, {"id": ann})
    room = ctx.db.insert("rooms", {"title": "general", "owner": ann, "topic": None,
                                   "visibility": "public", "models": ["gpt"],
                                   "settings": {"muted": False}, "cleanup": job})
    ctx.db.insert("none", {"note": "kept"})
    for user, updated, body in [(ann, 1, "hello all"), (ann, 2, "second"), (ann, 3, "hello again"),
                                (bob, 5, "hello from bob")]:
        ctx.db.insert("messages", {
            "room": room, "user": user, "body": body, "status": "sent", "kind": "text",
            "priority": None, "tags": ["a"], "meta": {"any": [1, "x"]}, "reactions": {"+1": 2},
            "payload": updated, "updated": updated, "embedding": [1.0, 0.0, 0.0, float(updated)],
        })
    ctx.db.insert("events", {"kind": "click", "x": 1.5, "y": 2})
    return {"ann": ann, "bob": bob, "room": room}


@query
def recent(ctx, room: str, user: str, after: float):
    return [m["body"] for m in ctx.db.query("messages").with_index(
        "by_room_and_user_and_updated",
        lambda q: q.eq("room", room).eq("user", user).gt("updated", after),
    ).collect()]


@query
def by_django_name(ctx, room: str, user: str):
    return len(ctx.db.query("messages").with_index(
        "messages_by_room_and_user_7278", lambda q: q.eq("room", room).eq("user", user)
    ).collect())


@query
def search(ctx, text: str, room: str):
    return sorted(m["body"] for m in ctx.db.query("messages").with_search_index(
        "search_body_in_room_and_status",
        lambda q: q.search("body", text).eq("room", room).eq("status", "sent"),
    ).collect())


@query
def similar(ctx, room: str):
    hits = ctx.vector_search("messages", "by_embedding_filtered_by_room",
                             vector=[1.0, 0.0, 0.0, 5.0], limit=2,
                             filter=lambda q: q.eq("room", room))
    return [ctx.db.get("messages", h["_id"])["body"] for h in hits]


@query
def messages_of(ctx, room: str):
    return ctx.db.query("messages").with_index("by_room", lambda q: q.eq("room", room)).collect()


@query
def room(ctx, id: str):
    room = ctx.db.get("rooms", id)
    job = ctx.db.system.get("_scheduled_functions", room.cleanup)
    return [room.visibility, room.models, job["name"], ctx.db.query("none").first().note]


@mutation
def set_avatar(ctx, user: str, avatar: str):
    ctx.db.patch("users", user, {"avatar": avatar})
    return ctx.db.get("users", user)["avatar"]


@mutation
def drop(ctx, id: str):
    ctx.db.delete("rooms", id)
"""

SCRIPT = """
import json

import django

django.setup()

from reactive.ids import encode_id
from reactive.models import StoredFile
from reactive.testing import ReactiveClient

client = ReactiveClient()
ids = client.mutation("ported:seed")
room, ann = ids["room"], ids["ann"]
stored = StoredFile.objects.create(sha256="x", size=1, name="avatar.png")
result = {
    "recent": client.query("ported:recent", {"room": room, "user": ann, "after": 1.0}),
    "by_django_name": client.query("ported:by_django_name", {"room": room, "user": ann}),
    "search": client.query("ported:search", {"text": "hello", "room": room}),
    "similar": client.query("ported:similar", {"room": room}),
    "room": client.query("ported:room", {"id": room}),
    "avatar_ok": client.mutation(
        "ported:set_avatar", {"user": ann, "avatar": encode_id("_storage", stored.pk)}
    ) == encode_id("_storage", stored.pk),
}
client.mutation("ported:drop", {"id": room})
kept = client.query("ported:messages_of", {"room": room})
result["dangling"] = [len(kept), all(m["room"] == room for m in kept)]
print(json.dumps(result))
"""


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def database_url() -> Iterator[str]:
    """A new, empty database on the server of DATABASE_URL, dropped afterwards."""
    base = os.environ["DATABASE_URL"]
    name = f"porting_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def web_project(folder: Path, schema: str | None = None, *, packages: bool = True) -> Path:
    """A Convex project's folder: package.json, convex/schema.ts and (linked) node_modules."""
    if not NODE_MODULES.exists():
        pytest.fail(f"{NODE_MODULES} is missing: run `python3 dev.py test` (it runs npm ci)")
    shutil.copytree(PROJECT, folder, ignore=shutil.ignore_patterns("expected_models.txt"))
    if schema is not None:
        (folder / "convex" / "schema.ts").write_text(textwrap.dedent(schema))
    if packages:
        (folder / "node_modules").symlink_to(NODE_MODULES)
    return folder / "convex" / "schema.ts"


def test_models_migrate_and_answer_ctx_db(tmp_path: Path, database_url: str) -> None:
    schema = web_project(tmp_path / "web")
    app = tmp_path / "ported"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(STARTAPP_MODELS)  # as startapp left it: replaced freely
    (app / "functions.py").write_text(FUNCTIONS)
    (tmp_path / "port_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n\n"
        "# the ported app instead of the suite's (whose tables have the same names)\n"
        'INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "tests.testapp"] + ["ported"]\n'
        'ROOT_URLCONF = "port_urls"\n'
        "del ASGI_APPLICATION\n"
    )
    (tmp_path / "port_urls.py").write_text(
        "from django.urls import include, path\n\n"
        'urlpatterns = [path("", include("reactive.urls"))]\n'
    )
    (tmp_path / "run.py").write_text(SCRIPT)
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="port_settings",
        PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}",
    )
    manage = [sys.executable, "-m", "django"]
    out = run(
        [*manage, "reactive", "convex-schema", str(schema), "--app", "ported"]
        + ["--max-length", "users.handle=64"],
        tmp_path,
        env,
    )
    assert out.splitlines()[0] == (
        f"wrote 5 model(s) to {app / 'models.py'}; now run manage.py makemigrations ported"
    )
    assert out.splitlines()[1].startswith("the models use pgvector: put ")
    assert (app / "models.py").read_text() == (PROJECT / "expected_models.txt").read_text()

    run([*manage, "makemigrations", "ported"], tmp_path, env)
    migration = app / "migrations" / "0001_initial.py"
    text = migration.read_text()
    # what the command's second line asks for (makemigrations does not add the extension)
    text = text.replace("operations = [", "operations = [pgvector.django.VectorExtension(),", 1)
    migration.write_text(text)
    run([*manage, "migrate", "-v", "0"], tmp_path, env)
    # the renamed indexes deconstruct as written: no second migration
    check = [*manage, "makemigrations", "ported", "--check", "--dry-run"]
    assert "No changes detected" in run(check, tmp_path, env)

    # the client's types (codegen's dataModel.d.ts) say what the schema's validators said
    run([*manage, "reactive", "codegen", "--out", str(tmp_path / "generated")], tmp_path, env)
    types = (tmp_path / "generated" / "dataModel.d.ts").read_text()
    for declared in [
        "karma: bigint;",
        "level: 1n | 2n;",  # v.union(v.literal(1n), v.literal(2n))
        "priority: 1 | 2 | null;",
        'status: "draft" | "sent" | "failed";',
        'visibility: "public" | "private" | null;',
        'cleanup: Id<"_scheduled_functions"> | null };',
        'avatar: Id<"_storage"> | null;',
        "embedding: Array<number> };",
    ]:
        assert declared in types, declared

    result = run([sys.executable, "run.py"], tmp_path, env).strip().splitlines()[-1]
    assert json.loads(result) == {
        "recent": ["second", "hello again"],
        "by_django_name": 3,
        "search": ["hello again", "hello all", "hello from bob"],
        "similar": ["hello from bob", "hello again"],
        "room": ["public", ["gpt"], "ported:drop", "kept"],
        "avatar_ok": True,
        "dangling": [4, True],  # a deleted room leaves its messages and their ids, as in Convex
    }


def convert(schema: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reactive", "convex-schema", str(schema), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def one_line_error(schema: Path, *args: str) -> str:
    with pytest.raises(CommandError) as caught:
        convert(schema, *args)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_an_existing_file_is_kept_without_force(tmp_path: Path) -> None:
    schema = web_project(tmp_path / "web")
    target = tmp_path / "models.py"
    target.write_text("# mine\n")
    assert one_line_error(schema, "--out", str(target)) == (
        f"{target} exists: pass --force to overwrite it"
    )
    assert target.read_text() == "# mine\n"
    out, _ = convert(schema, "--out", str(target), "--force")
    assert out.startswith(f"wrote 5 model(s) to {target}; now run manage.py makemigrations")
    assert "class Messages(ReactiveModel)" in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.py", "web"]  # no temporary


def test_out_in_the_current_folder_names_it_for_makemigrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = web_project(tmp_path / "web")
    (tmp_path / "chat").mkdir()
    monkeypatch.chdir(tmp_path / "chat")
    out, _ = convert(schema, "--out", "models.py")
    assert out.splitlines()[0] == (
        "wrote 5 model(s) to models.py; now run manage.py makemigrations chat"
    )


def test_an_app_whose_models_are_a_package_is_told_where_to_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A models.py written beside a models/ package would never be imported."""
    schema = web_project(tmp_path / "web")
    package = tmp_path / "pkgapp" / "models"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    # the suite's app, as if its folder were this one (an app's path is where models.py goes)
    monkeypatch.setattr(apps.get_app_config("testapp"), "path", str(tmp_path / "pkgapp"))
    assert one_line_error(schema, "--app", "testapp") == (
        f"--app testapp: its models are a package ({package}): pass --out "
        f"{package / 'convex.py'} and import that module in models/__init__.py"
    )
    assert sorted(p.name for p in (tmp_path / "pkgapp").iterdir()) == ["models"]


@pytest.mark.parametrize(
    ("schema", "packages", "expected"),
    [
        pytest.param(
            """
            import { defineSchema } from "convex/server";
            throw new Error("no schema today\\nsecond line");
            """,
            True,
            "{path} threw: Error: no schema today",
            id="throws",
        ),
        pytest.param(
            """
            console.error("loading the schema");
            throw new Error("no schema today");
            """,
            True,
            "{path} threw: Error: no schema today",
            id="throws-after-logging",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            export default defineSchema({ a: defineTable({ x: v.string( }) });
            """,
            True,
            '{path} does not compile: line 3:61: Unexpected "}}"',
            id="syntax-error",
        ),
        pytest.param(
            """
            import { defineSchema } from "convex/server";
            import { SessionIdArg } from "convex-helpers/server/sessions";
            export const args = SessionIdArg;  // used: an unused import is dropped as a type
            export default defineSchema({});
            """,
            True,
            '{path} does not compile: line 3:30: Could not resolve "convex-helpers/server/sessions"'
            ": is it installed? run `npm install` in the project",
            id="package-not-installed",
        ),
        pytest.param(
            None,
            False,
            "{path}: no convex npm package in {folder} or a folder above it: "
            "run `npm install convex` in the project",
            id="no-convex-package",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({ a: defineTable({ gone: v.null() }) });
            """,
            True,
            "table 'a', field 'gone': v.null() holds only null, which no column stores",
            id="null-alone",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({ a: defineTable({ to: v.id("nowhere") }) });
            """,
            True,
            "table 'a', field 'to': v.id(\"nowhere\") names no table of the schema",
            id="id-of-no-table",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({
              a: defineTable({ o: v.object({ p: v.string() }) }).index("by_p", ["o.p"]),
            });
            """,
            True,
            "table 'a', index 'by_p': 'o.p' is not a field of the table "
            "(a nested field: Django indexes take columns)",
            id="nested-index-field",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({ a: defineTable({ from: v.string() }) });
            """,
            True,
            "table 'a', field 'from': not a Python name; rename it in the schema to port it",
            id="keyword-field",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({
              a: defineTable({ x: v.string() }).index("b_x", ["x"]),
              a_b: defineTable({ x: v.string() }).index("x", ["x"]),
            });
            """,
            True,
            "table 'a_b', index 'x': its Django name 'a_b_x' is also that of table 'a', "
            "index 'b_x'; rename one of them",
            id="index-name-clash",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({ a: defineTable({ _id: v.string() }) });
            """,
            True,
            "table 'a', field '_id': Convex keeps names starting with _ for system fields",
            id="system-field-name",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({ a: defineTable({ Meta: v.string() }) });
            """,
            True,
            "table 'a', field 'Meta': Django reserves this field name; rename it in the schema",
            id="meta-field",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({
              a: defineTable({ user: v.id("a"), user_id: v.string() }),
            });
            """,
            True,
            "table 'a', field 'user_id': Django holds the id of field 'user' under this name; "
            "rename one of them in the schema",
            id="foreign-key-id-clash",
        ),
        pytest.param(
            """
            import { defineSchema, defineTable } from "convex/server";
            import { v } from "convex/values";
            export default defineSchema({
              userProfile: defineTable({ x: v.string() }),
              userprofile: defineTable({ x: v.string() }),
            });
            """,
            True,
            "table 'userprofile': its model would be Userprofile, table 'userProfile''s name",
            id="model-names-differing-in-case",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, schema: str | None, packages: bool, expected: str
) -> None:
    path = web_project(tmp_path / "web", schema, packages=packages)
    target = tmp_path / "models.py"
    message = one_line_error(path, "--out", str(target))
    assert message == expected.format(path=path, folder=path.parent)
    assert not target.exists()


def test_a_staged_index_is_left_out_with_a_warning(tmp_path: Path) -> None:
    schema = """
        import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({
          a: defineTable({ x: v.string() })
            .index("by_x", ["x"])
            .index("by_x_later", { fields: ["x"], staged: true }),
        });
    """
    out, err = convert(web_project(tmp_path / "web", schema), "--stdout")
    assert 'name="a_by_x"' in out
    assert "by_x_later" not in out
    assert err == (
        "warning: table 'a': staged index 'by_x_later' left out "
        "(Convex does not query staged indexes either)\n"
    )


def test_what_convex_does_not_enforce_is_a_warning(tmp_path: Path) -> None:
    schema = """
        import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema(
          { a: defineTable({ x: v.number() }).staged({ x: v.union(v.string(), v.number()) }) },
          { schemaValidation: false, strictTableNameTypes: false },
        );
    """
    out, err = convert(web_project(tmp_path / "web", schema), "--stdout")
    assert "    x = models.FloatField()\n" in out
    assert err == (
        "warning: schemaValidation is false: Convex did not hold the documents to this schema, "
        "so data that does not match it will be refused by these models (and the import)\n"
        "warning: table 'a': its staged validator (.staged(...)) left out; the models follow "
        "the validator Convex enforces\n"
    )


def test_a_schema_that_logs_nests_its_shapes_and_mixes_ids_with_strings(tmp_path: Path) -> None:
    schema = """
        import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        import { createRequire } from "node:module";
        import { dirname } from "node:path";
        import { fileURLToPath } from "node:url";
        // an ES module's own way to these names: no clash with what the bundle provides
        const __dirname = dirname(fileURLToPath(import.meta.url));
        const require = createRequire(import.meta.url);
        console.log("loading the schema", __dirname, typeof require);
        const keys = v.union(
          v.object({ kind: v.literal("key"), key: v.string() }),
          v.object({ kind: v.literal("paste"), text: v.string() }),
        );
        export default defineSchema({
          events: defineTable(v.union(v.object({ kind: v.literal("click") }), keys)),
          visits: defineTable({ by: v.union(v.id("events"), v.string()) }),
          // no fields of its own: _id and _creationTime only
          ticks: defineTable({}).index("by_time", ["_creationTime"]),
        });
    """
    out, _ = convert(web_project(tmp_path / "web", schema), "--stdout")
    assert out.startswith('"""Django models for the Convex tables of convex/schema.ts.')
    assert "    key = models.TextField(null=True, blank=True)\n" in out
    assert '("click", "click"), ("key", "key"), ("paste", "paste")' in out
    assert (
        '    # v.union(v.id("events"), v.string())\n'
        "    # (ids and strings: a string column, no foreign key)\n"
        "    by = models.TextField(blank=True)\n"
    ) in out
    assert "class Ticks(ReactiveModel):\n    class Meta:\n" in out
    # as ruff format leaves it (the project's own formatter, run on the output)
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--diff", "-"],
        input=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_more_dimensions_than_pgvector_indexes_is_a_warning(tmp_path: Path) -> None:
    """Convex takes up to 4096 dimensions (text-embedding-3-large has 3072); pgvector's HNSW
    index 2000, so the migration would fail: said before anything is migrated."""
    schema = """
        import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({
          docs: defineTable({ embedding: v.array(v.float64()) })
            .vectorIndex("by_embedding", { vectorField: "embedding", dimensions: 3072 }),
        });
    """
    out, err = convert(web_project(tmp_path / "web", schema), "--stdout")
    assert "embedding = VectorField(dimensions=3072)" in out
    assert err == (
        "warning: table 'docs', vector index 'by_embedding': 3072 dimensions, and pgvector "
        "indexes at most 2000: migrate will fail on this index until it has fewer\n"
        # with --stdout, the closing hint goes to stderr: it is needed, and not Python
        "note: the models use pgvector: put pgvector.django.VectorExtension() first in that "
        "migration's operations (docs/vector-search.md)\n"
    )


def test_no_node_is_one_line(tmp_path: Path) -> None:
    from reactive.porting import convert as port

    schema = web_project(tmp_path / "web")
    with pytest.raises(ValueError, match=r"^Node\.js not found at /nonexistent/node: install"):
        port(schema, node="/nonexistent/node")


def test_max_length_must_name_a_string_field(tmp_path: Path) -> None:
    schema = web_project(tmp_path / "web")
    assert one_line_error(schema, "--stdout", "--max-length", "users.karma=5") == (
        "--max-length users.karma: table 'users', field 'karma' is not a string"
    )
    assert one_line_error(schema, "--stdout", "--max-length", "messages.status=5") == (
        "--max-length messages.status=5: table 'messages', field 'status' may hold 'failed', "
        "6 characters"
    )
    assert one_line_error(schema, "--stdout", "--max-length", "users=5") == (
        "--max-length users=5: write TABLE.FIELD=N, e.g. users.name=64"
    )


def test_a_schema_js_in_a_folder_with_a_space_importing_a_local_file(tmp_path: Path) -> None:
    path = web_project(tmp_path / "my web")
    path.unlink()
    (path.parent / "shapes.ts").write_text(
        'import { v } from "convex/values";\n'
        "export const click = v.object({\n"
        '  kind: v.literal("click"),\n'
        "  mods: v.union(v.string(), v.null()),\n"
        "});\n"
    )
    # a CommonJS helper that reads __dirname, as some packages do
    (path.parent / "names.cjs").write_text(
        'const folder = require("path").basename(__dirname);\n'
        'module.exports = { events: folder === "convex" && "events" };\n'
    )
    schema = path.with_name("schema.js")
    schema.write_text(
        'import { defineSchema, defineTable } from "convex/server";\n'
        'import { v } from "convex/values";\n'
        'import { click } from "./shapes";\n'
        'import names from "./names.cjs";\n'
        "export default defineSchema({\n"
        "  [names.events]: defineTable(\n"
        '    v.union(click, v.object({ kind: v.literal("key"), mods: v.string() })),\n'
        "  ),\n"
        "});\n"
    )
    out, _ = convert(schema, "--stdout")
    assert out.startswith('"""Django models for the Convex tables of convex/schema.js.\n')
    # the shapes' unions of one kind merge into one column, not a JSONField
    assert "    mods = models.TextField(null=True, blank=True)\n" in out


def test_a_pnpm_layout_finds_esbuild_beside_convex_in_the_store(tmp_path: Path) -> None:
    """pnpm links node_modules/convex to its store, where convex's own dependencies sit beside
    it and nowhere above the project: esbuild is found from convex's real folder."""
    schema = web_project(tmp_path / "web", packages=False)
    store = tmp_path / "web" / "node_modules" / ".pnpm" / "convex@1.48.0" / "node_modules"
    (store / "convex").mkdir(parents=True)
    for entry in (NODE_MODULES / "convex").iterdir():  # a real folder, as the store's is
        if entry.name == "package.json":
            shutil.copy(entry, store / "convex" / entry.name)
        else:
            (store / "convex" / entry.name).symlink_to(entry)
    (tmp_path / "web" / "node_modules" / "convex").symlink_to(store / "convex")
    target = tmp_path / "models.py"
    # without esbuild beside it: said so, not "no convex npm package"
    assert one_line_error(schema, "--out", str(target)) == (
        f"{schema}: the convex npm package in {tmp_path / 'web' / 'node_modules' / 'convex'} "
        "cannot load its esbuild: run `npm install` in the project"
    )
    assert not target.exists()
    (store / "esbuild").symlink_to(NODE_MODULES / "esbuild")
    out, _ = convert(schema, "--stdout")
    assert "class Messages(ReactiveModel):" in out
