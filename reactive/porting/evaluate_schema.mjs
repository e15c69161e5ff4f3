// Prints `schema.export()` of a Convex schema.ts as JSON: what the Convex CLI sends to its backend.
//
// Usage: node evaluate_schema.mjs PATH/TO/convex/schema.ts
//
// The schema is bundled by the project's own esbuild (a dependency of the `convex` npm package,
// loaded from where convex really is) and evaluated with the project's own `convex`, found from
// the schema's folder upwards, so TypeScript is never parsed by hand. The export is the last
// line on stdout (what the schema logs comes before it); a failure is the last line on stderr,
// and the exit status:
//   3  no `convex` package from the schema's folder upwards
//   4  the schema does not compile (the first esbuild error)
//   5  evaluating the schema threw (the error's first line)
//   6  the default export is not a defineSchema(...) result
//   7  `convex` is there but its esbuild cannot be loaded (stderr: convex's folder)

import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

function fail(code, message) {
  process.stderr.write(message.split("\n")[0] + "\n");
  process.exit(code);
}

function findPackage(start, name) {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name, "package.json");
    if (existsSync(candidate)) return dirname(candidate);
    if (dirname(dir) === dir) return null;
  }
}

const schemaPath = resolve(process.argv[2]);
const folder = dirname(schemaPath);
const convexDir = findPackage(folder, "convex");
if (convexDir === null) {
  fail(3, `no convex package`);
}
// esbuild is a dependency of convex: loaded as convex itself would, from convex's real folder
// (hoisted beside it by npm, next to it in pnpm's store, where a symlink leads)
let esbuild;
try {
  esbuild = createRequire(realpathSync(join(convexDir, "package.json")))("esbuild");
} catch {
  fail(7, convexDir);
}

let code;
try {
  const result = await esbuild.build({
    entryPoints: [schemaPath],
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    logLevel: "silent",
    // a CommonJS dependency's require() of a Node built-in works in the ES module bundle: a
    // global, so that no name is declared which the schema's own code may declare too
    banner: {
      js: "import { createRequire as __reactiveCreateRequire } from 'node:module';\n" +
        "globalThis.require ??= __reactiveCreateRequire(import.meta.url);",
    },
    // and its __dirname and __filename are the schema's (where they are not declared)
    define: { __dirname: JSON.stringify(folder), __filename: JSON.stringify(schemaPath) },
    // the schema's own imports resolve from its folder, as the Convex CLI bundles them
    absWorkingDir: folder,
  });
  code = result.outputFiles[0].text;
} catch (error) {
  const first = error.errors?.[0];
  if (first) {
    // the place: "line 3:61" in the schema itself, "FILE:3:61" in a file it imports
    const at = first.location;
    const file = at ? resolve(folder, at.file) : null;
    const where = at
      ? `${file === schemaPath ? "line " : `${file}:`}${at.line}:${at.column + 1}: `
      : "";
    // a package the schema imports that is not installed (as a fresh clone has it)
    const missing = /^Could not resolve "[^./]/.test(first.text)
      ? ": is it installed? run `npm install` in the project"
      : "";
    fail(4, `${where}${first.text}${missing}`);
  }
  fail(4, String(error));
}

// an ES module is imported from a file; a private temporary folder, removed at once
const scratch = mkdtempSync(join(tmpdir(), "reactive-schema-"));
const bundle = join(scratch, "schema.mjs");
writeFileSync(bundle, code);
let schema;
try {
  schema = (await import(pathToFileURL(bundle).href)).default;
} catch (error) {
  rmSync(scratch, { recursive: true, force: true });
  fail(5, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}
rmSync(scratch, { recursive: true, force: true });
if (schema === null || typeof schema !== "object" || typeof schema.export !== "function") {
  fail(6, "its default export is not defineSchema(...)");
}
let exported;
try {
  exported = schema.export();
} catch (error) {
  fail(5, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}
process.stdout.write(exported + "\n");
