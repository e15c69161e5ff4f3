// Drives the official `ConvexHttpClient` (npm convex 1.48.0) against a reactive server.
//
//   node http_client.mjs http://127.0.0.1:8000
//
// Runs every check in order and prints ONE JSON line to stdout:
//   {"ok": bool, "checks": {"<name>": {"ok": bool, "detail": "..."}, ...}}
// and exits 1 if any check failed. Uncaught exceptions and unhandled rejections are reported as
// {"ok": false, "fatal": "..."} (exit 2) instead of killing the process silently.
// Driven by tests/interop/test_official_js_client.py.

import { emit, fatal, show } from "./report.mjs"; // first: installs the crash handlers
import { isDeepStrictEqual } from "node:util";

const url = process.argv[2];
if (!url) {
  fatal("usage", new Error("usage: node http_client.mjs <server url>"));
}

const { ConvexHttpClient } = await import("convex/browser");
const { anyApi, makeFunctionReference, getFunctionName } = await import("convex/server");
const { ConvexError } = await import("convex/values");

class CheckFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function expectEqual(actual, expected, what) {
  expect(isDeepStrictEqual(actual, expected),
    `${what}: expected ${show(expected)}, got ${show(actual)}`);
}

async function expectRejects(promise, what) {
  try {
    const value = await promise;
    throw new CheckFailed(`${what}: expected a rejection, got the value ${show(value)}`);
  } catch (err) {
    if (err instanceof CheckFailed) throw err;
    return err;
  }
}

// Function log lines (`logLines`) reach the client's logger; keep them instead of printing
// them, so that stdout holds only the JSON result.
const logged = [];
const logger = {
  logVerbose: (...args) => logged.push(["verbose", ...args]),
  log: (...args) => logged.push(["log", ...args]),
  warn: (...args) => logged.push(["warn", ...args]),
  error: (...args) => logged.push(["error", ...args]),
};

const client = new ConvexHttpClient(url, { logger });
const api = anyApi;
const unique = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

const checks = [
  ["query", async () => {
    expectEqual(await client.query(api.testapp.ping, {}), "pong", "testapp:ping");
    expectEqual(await client.query(makeFunctionReference("testapp:ping"), {}), "pong",
      "makeFunctionReference('testapp:ping')");
    return "testapp:ping → 'pong'";
  }],

  ["query_default_export", async () => {
    expectEqual(getFunctionName(api.testapp.default), "testapp",
      "getFunctionName(api.testapp.default)");
    expectEqual(await client.query(api.testapp.default, {}), "default export",
      "api.testapp.default");
    expectEqual(await client.query("testapp", {}), "default export", "the string 'testapp'");
    expectEqual(await client.query(makeFunctionReference("testapp"), {}), "default export",
      "makeFunctionReference('testapp')");
    return "api.testapp.default, 'testapp' and makeFunctionReference('testapp') all reach it";
  }],

  ["mutation", async () => {
    const name = `js-chan-${unique}`;
    const channel = await client.mutation(api.testapp.create_channel, { name, topic: "interop" });
    expect(typeof channel === "string" && channel.length > 0,
      `create_channel should return an id string, got ${show(channel)}`);
    const names = await client.query(api.testapp.channel_names, {});
    expect(Array.isArray(names) && names.includes(name),
      `channel_names should include ${name}, got ${show(names)}`);
    const body = `hello from node ${unique}`;
    const message = await client.mutation(api.testapp.messages.send,
      { channel, body, author: "node" });
    expect(typeof message === "string" && message.length > 0 && message !== channel,
      `testapp/messages:send should return a new id string, got ${show(message)}`);
    const rows = await client.query(api.testapp.messages.list, { channel });
    expect(Array.isArray(rows) && rows.length === 1,
      `testapp/messages:list should return the one message, got ${show(rows)}`);
    const [row] = rows;
    expectEqual(row._id, message, "list()[0]._id");
    expectEqual(row.channel, channel, "list()[0].channel");
    expectEqual(row.body, body, "list()[0].body");
    expectEqual(row.author, "node", "list()[0].author");
    expect(typeof row._creationTime === "number" && row._creationTime > 1.5e12,
      `list()[0]._creationTime should be ms since the epoch, got ${show(row._creationTime)}`);
    return `channel ${channel}, message ${message}`;
  }],

  ["mutation_error_rolls_back", async () => {
    const name = `js-rollback-${unique}`;
    const err = await expectRejects(client.mutation(api.testapp.write_then_fail, { name }),
      "testapp:write_then_fail");
    expect(err instanceof ConvexError, `expected a ConvexError, got ${show(err)}`);
    expectEqual(err.data, { code: "ROLLED_BACK" }, "ConvexError.data");
    const names = await client.query(api.testapp.channel_names, {});
    expect(Array.isArray(names) && !names.includes(name),
      `the failed mutation's channel ${name} must not exist, got ${show(names)}`);
    return "ConvexError({code: 'ROLLED_BACK'}) and nothing written";
  }],

  ["action", async () => {
    expectEqual(await client.action(api.testapp.plain_action, { x: 21 }), { doubled: 42 },
      "testapp:plain_action {x: 21}");
    return "{doubled: 42}";
  }],

  ["int64", async () => {
    const i = 2n ** 40n + 3n;
    const bytes = new Uint8Array([0, 1, 2]).buffer;
    const typed = await client.query(api.testapp.typed,
      { s: "x", n: 1, f: 1.5, b: true, i, by: bytes });
    expect(typeof typed.i === "bigint", `typed.i should be a bigint, got ${show(typed.i)}`);
    expectEqual(typed.i, i, "typed.i");
    const neg = await client.query(api.testapp.typed,
      { s: "x", n: 1, f: 1.5, b: true, i: -(2n ** 63n), by: bytes });
    expectEqual(neg.i, -(2n ** 63n), "typed.i at the Int64 minimum");
    const big = await client.query(api.testapp.big_int, {});
    expect(typeof big.i === "bigint" && typeof big.neg === "bigint",
      `big_int should give bigints, got ${show(big)}`);
    expectEqual(big.i, 2n ** 62n, "big_int.i");
    expectEqual(big.neg, -1n, "big_int.neg");
    expectEqual(big.f, 1.5, "big_int.f");
    expectEqual(big.n, 3, "big_int.n (a plain Python int is a number)");
    return "bigints round-trip";
  }],

  ["bytes", async () => {
    const data = new Uint8Array([1, 2, 3, 250, 0, 255]).buffer;
    const out = await client.query(api.testapp.bytes_echo, { data });
    expect(out instanceof ArrayBuffer, `bytes_echo should give an ArrayBuffer, got ${show(out)}`);
    expectEqual([...new Uint8Array(out)], [255, 0, 250, 3, 2, 1], "bytes_echo");
    const empty = await client.query(api.testapp.bytes_echo, { data: new ArrayBuffer(0) });
    expect(empty instanceof ArrayBuffer && empty.byteLength === 0,
      `bytes_echo of empty bytes should give an empty ArrayBuffer, got ${show(empty)}`);
    return "ArrayBuffer reversed";
  }],

  ["convex_error", async () => {
    const err = await expectRejects(client.query(api.testapp.fail_convex, {}),
      "testapp:fail_convex");
    expect(err instanceof ConvexError, `expected a ConvexError, got ${show(err)}`);
    expectEqual(err.data, { code: "NOPE", n: 7n }, "ConvexError.data");
    return `ConvexError ${show(err.data)}`;
  }],

  ["plain_error", async () => {
    const err = await expectRejects(client.query(api.testapp.boom, {}), "testapp:boom");
    expect(err instanceof Error, `expected an Error, got ${show(err)}`);
    expect(!(err instanceof ConvexError), `expected a plain Error, got a ConvexError ${show(err)}`);
    expect(!err.message.includes("secret internal detail"),
      `the error leaks the exception text: ${show(err.message)}`);
    expect(err.message.includes("Server Error"),
      `expected "Server Error" outside DEBUG, got ${show(err.message)}`);
    return err.message;
  }],

  ["unknown_function", async () => {
    const err = await expectRejects(client.query("testapp:no_such_function", {}),
      "testapp:no_such_function");
    expect(err instanceof Error && err.message.includes("Could not find public function"),
      `expected "Could not find public function", got ${show(err)}`);
    const err2 = await expectRejects(client.mutation(api.nosuchmodule.fn, {}),
      "nosuchmodule:fn");
    expect(err2 instanceof Error && err2.message.includes("Could not find public function"),
      `expected "Could not find public function", got ${show(err2)}`);
    return err.message;
  }],

  ["internal_function", async () => {
    const err = await expectRejects(client.query(api.testapp.secret, {}), "testapp:secret");
    expect(err instanceof Error && err.message.includes("Could not find public function"),
      `expected "Could not find public function", got ${show(err)}`);
    expect(!String(err.message).includes("internal only"),
      `the internal function ran: ${show(err.message)}`);
    return err.message;
  }],

  // consistentQuery: /api/query_ts once per client, then /api/query_at_ts with that ts. Every
  // consistentQuery of a client reads at least what was committed when the ts was issued.
  ["consistent_query", async () => {
    const name = `js-consistent-${unique}`;
    const consistent = new ConvexHttpClient(url, { logger });
    await client.mutation(api.testapp.create_channel, { name });
    const names = await consistent.consistentQuery(api.testapp.channel_names, {});
    expect(Array.isArray(names) && names.includes(name),
      `consistentQuery does not show ${name}, committed before its timestamp: ${show(names)}`);
    expectEqual(await consistent.consistentQuery(api.testapp.ping, {}), "pong",
      "a second consistentQuery (same timestamp)");
    const err = await expectRejects(consistent.consistentQuery(api.testapp.fail_convex, {}),
      "consistentQuery of a query that throws a ConvexError");
    expect(err instanceof ConvexError, `expected a ConvexError, got ${show(err)}`);
    return `${name} visible; ping; ConvexError`;
  }],

  ["log_lines", async () => {
    logged.length = 0;
    expectEqual(await client.query(api.testapp.logs, {}), "ok", "testapp:logs");
    const text = logged.map((entry) => entry.map(String).join(" "));
    expect(logged.length === 3 && logged.every(([kind]) => kind === "log"),
      `expected 3 parsed log lines (none "Could not parse console.log"), got ${show(text)}`);
    expect(text[0].includes("[LOG]") && text[0].includes("hello"), `line 1: ${show(text[0])}`);
    expect(text[1].includes("[WARN]") && text[1].includes("careful"), `line 2: ${show(text[1])}`);
    expect(text[2].includes("[ERROR]") && text[2].includes("from logging"),
      `line 3: ${show(text[2])}`);
    return text.join(" | ");
  }],
];

const results = {};
for (const [name, run] of checks) {
  try {
    results[name] = { ok: true, detail: String(await run()) };
  } catch (err) {
    const detail = err instanceof CheckFailed
      ? err.message
      : `unexpected ${err && err.name}: ${err && err.message}\n${err && err.stack}`;
    results[name] = { ok: false, detail };
  }
}
const ok = Object.values(results).every((r) => r.ok);
emit({ ok, checks: results }, ok ? 0 : 1);
