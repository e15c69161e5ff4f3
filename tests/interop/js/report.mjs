// Shared by the client scripts: print exactly one JSON result line, and turn uncaught exceptions
// and unhandled rejections into that line (exit 2) instead of a silent crash. Import it first:
// its handlers are installed when it is evaluated, before the convex client is loaded.

import { inspect } from "node:util";

let printed = false;
let context = () => ({});

export function show(value) {
  return inspect(value, { depth: 6, breakLength: Infinity });
}

export function emit(result, code) {
  if (printed) return;
  printed = true;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = code;
}

export function fatal(kind, err) {
  const detail = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : show(err);
  emit({ ok: false, fatal: `${kind}: ${detail}`, ...context() }, 2);
  process.exit(2);
}

/** What else a fatal report carries (e.g. the checks finished so far). */
export function reportAlso(fn) {
  context = fn;
}

process.on("uncaughtException", (err) => fatal("uncaughtException", err));
process.on("unhandledRejection", (err) => fatal("unhandledRejection", err));
