// Drives the official WebSocket `ConvexClient` (npm convex 1.48.0, "convex/browser", which bundles
// `ws` in Node) against a reactive server's sync protocol.
//
//   node sync_client.mjs http://127.0.0.1:8000 [check,check,...]
//
// Runs the named checks (by default all but the opt-in ones) in order and prints ONE JSON line:
//   {"ok": bool, "checks": {"<name>": {"ok": bool, "detail": "..."}, ...}, "logs": [...]}
// and exits 1 if any check failed. Uncaught exceptions and unhandled rejections (a Transition with
// a wrong startVersion, or a FatalError, throws from the WebSocket message handler) are reported
// as {"ok": false, "fatal": "...", "checks": {...so far}} (exit 2). Every wait is time-boxed and
// the whole script has a deadline, so it always exits.
// Driven by tests/interop/test_official_js_sync.py.

import { emit, fatal, reportAlso, show } from "./report.mjs"; // first: the crash handlers
import { isDeepStrictEqual } from "node:util";

const WAIT_MS = Number(process.env.SYNC_CLIENT_WAIT_MS || 10_000); // any single wait
const SCRIPT_DEADLINE_MS = 50_000; // the whole run

const results = {};
const logs = [];
reportAlso(() => ({ checks: results, logs: logs.slice(-50) }));
setTimeout(() => fatal("deadline",
  new Error(`sync_client.mjs did not finish in ${SCRIPT_DEADLINE_MS} ms`)), SCRIPT_DEADLINE_MS);

const url = process.argv[2];
if (!url) {
  fatal("usage", new Error("usage: node sync_client.mjs <server url> [check,check,...]"));
}
const only = process.argv[3] ? new Set(process.argv[3].split(",")) : null;

const { ConvexClient } = await import("convex/browser");
const { anyApi } = await import("convex/server");
const { ConvexError } = await import("convex/values");

class CheckFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function expectEqual(actual, expected, what) {
  expect(isDeepStrictEqual(actual, expected),
    `${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** `promise`, or a CheckFailed after `ms`. */
function within(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function expectRejects(promise, what) {
  try {
    const value = await within(promise, what);
    throw new CheckFailed(`${what}: expected a rejection, got the value ${show(value)}`);
  } catch (err) {
    if (err instanceof CheckFailed) throw err;
    return err;
  }
}

/** Records what an onUpdate / onPaginatedUpdate_experimental subscription delivers. */
class Watch {
  constructor(what) {
    this.what = what;
    this.values = [];
    this.errors = [];
    this.waiters = new Set();
    this.onValue = (value) => {
      this.values.push(value);
      this.poke();
    };
    this.onError = (err) => {
      this.errors.push(err);
      this.poke();
    };
  }

  get latest() {
    return this.values[this.values.length - 1];
  }

  poke() {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves once `predicate(this)` holds; a CheckFailed after `ms`. */
  until(predicate, description, ms = WAIT_MS) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        let done;
        try {
          done = predicate(this);
        } catch (err) {
          done = false;
        }
        if (done) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(this);
        }
      };
      timer = setTimeout(() => {
        this.waiters.delete(check);
        const errors = this.errors.map((e) => `${e.name}: ${e.message}`);
        reject(new CheckFailed(`${this.what}: timed out after ${ms} ms waiting for ${description}; `
          + `${this.values.length} value(s), latest ${show(this.latest)}, errors ${show(errors)}`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }
}

function makeLogger(name) {
  const record = (level) => (...args) => {
    if (logs.length < 500) logs.push(`[${name} ${level}] ${args.map((a) => (typeof a === "string" ? a : show(a))).join(" ")}`);
  };
  return { logVerbose: () => {}, log: record("log"), warn: record("warn"), error: record("error") };
}

const api = anyApi;
const unique = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
// Two independent clients: two sockets, two sessions.
const alice = new ConvexClient(url, { logger: makeLogger("alice") });
const bob = new ConvexClient(url, { logger: makeLogger("bob") });
const clients = { alice, bob };

async function newChannel(client, label) {
  const channel = await within(
    client.mutation(api.testapp.create_channel, { name: `js-sync-${label}-${unique}` }),
    "mutation testapp:create_channel");
  expect(typeof channel === "string" && channel.length > 0,
    `create_channel should return an id string, got ${show(channel)}`);
  return channel;
}

function bodies(rows) {
  return rows.map((row) => row.body);
}

const checks = [
  ["subscription_sees_other_client", async () => {
    const channel = await newChannel(alice, "other");
    const watch = new Watch("alice onUpdate testapp/messages:list");
    const unsubscribe = alice.onUpdate(api.testapp.messages.list, { channel },
      watch.onValue, watch.onError);
    try {
      await watch.until((w) => w.values.length > 0, "the first result");
      expectEqual(watch.latest, [], "the first result for a fresh channel");
      const body = `from bob ${unique}`;
      const id = await within(bob.mutation(api.testapp.messages.send,
        { channel, body, author: "bob" }), "bob's mutation testapp/messages:send");
      await watch.until((w) => w.latest.length === 1, "bob's message");
      const [row] = watch.latest;
      expectEqual(row._id, id, "the message's _id");
      expectEqual(row.body, body, "the message's body");
      expectEqual(row.author, "bob", "the message's author");
      expect(watch.errors.length === 0, `onError was called: ${show(watch.errors)}`);
      return `alice saw bob's ${id} after ${watch.values.length} update(s)`;
    } finally {
      unsubscribe();
    }
  }],

  ["read_your_writes", async () => {
    const channel = await newChannel(alice, "ryw");
    const watch = new Watch("alice onUpdate testapp/messages:list");
    const unsubscribe = alice.onUpdate(api.testapp.messages.list, { channel },
      watch.onValue, watch.onError);
    try {
      await watch.until((w) => w.values.length > 0, "the first result");
      expectEqual(watch.latest, [], "the first result for a fresh channel");
      const seen = [];
      for (let i = 0; i < 3; i++) {
        const body = `ryw ${i} ${unique}`;
        const id = await within(alice.mutation(api.testapp.messages.send,
          { channel, body, author: "alice" }), `mutation ${i}`);
        seen.push(id);
        // No waiting: when the mutation's promise resolves, the Transition that covers its
        // timestamp has been applied, so the subscription already shows the write.
        const ids = (watch.latest ?? []).map((row) => row._id);
        expectEqual(ids, seen, `onUpdate's latest value right after mutation ${i} resolved`);
        const current = unsubscribe.getCurrentValue();
        expectEqual((current ?? []).map((row) => row._id), seen,
          `getCurrentValue() right after mutation ${i} resolved`);
      }
      expect(watch.errors.length === 0, `onError was called: ${show(watch.errors)}`);
      return `3 writes, each visible when its mutation resolved (${watch.values.length} updates)`;
    } finally {
      unsubscribe();
    }
  }],

  ["query", async () => {
    expectEqual(await within(alice.query(api.testapp.ping, {}), "query testapp:ping"), "pong",
      "testapp:ping");
    expectEqual(await within(alice.query(api.testapp.default, {}), "query testapp (default)"),
      "default export", "testapp:default");
    const big = await within(bob.query(api.testapp.big_int, {}), "query testapp:big_int");
    expectEqual(big, { i: 2n ** 62n, neg: -1n, f: 1.5, n: 3 }, "testapp:big_int");
    const channel = await newChannel(bob, "query");
    await within(bob.mutation(api.testapp.messages.send, { channel, body: "q" }), "send");
    const rows = await within(alice.query(api.testapp.messages.list, { channel }),
      "query testapp/messages:list");
    expectEqual(bodies(rows), ["q"], "one-shot list after bob's write");
    return "ping, default export, big_int and list";
  }],

  ["action", async () => {
    expectEqual(await within(alice.action(api.testapp.plain_action, { x: 21 }),
      "action testapp:plain_action"), { doubled: 42 }, "testapp:plain_action {x: 21}");
    expectEqual(await within(alice.action(api.testapp.plain_action, {}),
      "action testapp:plain_action"), { doubled: 2 }, "testapp:plain_action {}");
    return "{doubled: 42}";
  }],

  ["mutation_convex_error", async () => {
    const err = await expectRejects(alice.mutation(api.testapp.write_then_fail,
      { name: `js-sync-rollback-${unique}` }), "mutation testapp:write_then_fail");
    expect(err instanceof ConvexError, `expected a ConvexError, got ${show(err)}`);
    expectEqual(err.data, { code: "ROLLED_BACK" }, "ConvexError.data");
    // The socket is still usable afterwards.
    expectEqual(await within(alice.query(api.testapp.ping, {}), "ping"), "pong", "ping after");
    return "ConvexError({code: 'ROLLED_BACK'})";
  }],

  ["query_convex_error", async () => {
    const watch = new Watch("onUpdate testapp:fail_convex");
    const unsubscribe = alice.onUpdate(api.testapp.fail_convex, {}, watch.onValue,
      watch.onError);
    try {
      await watch.until((w) => w.errors.length > 0, "onError");
      const [err] = watch.errors;
      expect(err instanceof ConvexError, `expected a ConvexError, got ${show(err)}`);
      expectEqual(err.data, { code: "NOPE", n: 7n }, "ConvexError.data");
      expect(watch.values.length === 0, `the callback got values: ${show(watch.values)}`);
    } finally {
      unsubscribe();
    }
    const err2 = await expectRejects(bob.query(api.testapp.fail_convex, {}),
      "one-shot query testapp:fail_convex");
    expect(err2 instanceof ConvexError, `one-shot: expected a ConvexError, got ${show(err2)}`);
    expectEqual(err2.data, { code: "NOPE", n: 7n }, "one-shot ConvexError.data");
    return "onError(ConvexError {code: 'NOPE', n: 7n})";
  }],

  ["paginated", async () => {
    const channel = await newChannel(alice, "pages");
    const sent = [];
    const send = async (client, body) => {
      const id = await within(client.mutation(api.testapp.messages.send, { channel, body }),
        `send ${body}`);
      sent.push(id);
    };
    for (const body of ["m1", "m2", "m3"]) await send(bob, body);

    const watch = new Watch("onPaginatedUpdate_experimental testapp/messages:page");
    expect(typeof alice.onPaginatedUpdate_experimental === "function",
      "ConvexClient.onPaginatedUpdate_experimental is missing");
    const unsubscribe = alice.onPaginatedUpdate_experimental(api.testapp.messages.page,
      { channel }, { initialNumItems: 2 }, watch.onValue, watch.onError);
    const ids = (result) => result.results.map((row) => row._id);
    try {
      await watch.until((w) => w.latest && w.latest.status !== "LoadingFirstPage",
        "the first page");
      expectEqual(watch.latest.status, "CanLoadMore", "status after the first page");
      expectEqual(bodies(watch.latest.results), ["m1", "m2"], "the first page (numItems 2)");

      const started = watch.latest.loadMore(2);
      expect(started === true, `loadMore(2) should start loading, returned ${show(started)}`);
      await watch.until((w) => w.latest.status === "Exhausted", "the second page (Exhausted)");
      expectEqual(bodies(watch.latest.results), ["m1", "m2", "m3"], "after loadMore(2)");
      expectEqual(ids(watch.latest), sent, "ids after loadMore(2)");

      const mark = watch.values.length;
      await send(bob, "m4");
      await send(alice, "m5");
      await watch.until((w) => w.latest.results.length >= 5, "m4 and m5 in the last page");
      expectEqual(ids(watch.latest), sent, "ids after two more inserts (no duplicates, no gaps)");
      expectEqual(watch.latest.status, "Exhausted", "status after the last page grew");
      // Every intermediate result is a prefix of the final order: never a duplicate or a gap.
      for (const [i, value] of watch.values.slice(mark).entries()) {
        const got = ids(value);
        expectEqual(got, sent.slice(0, got.length), `intermediate result ${i}`);
      }
      // The last page grew in place: still two page subscriptions (the client splits a page
      // only when the server asks for it or it passes 2 × initialNumItems).
      const pq = [...alice.paginatedClient.paginatedQuerySet.values()];
      const pages = pq.length === 1 ? pq[0].pageKeys.length : null;
      expectEqual(pages, 2, "page subscriptions of the paginated query");
      expect(watch.errors.length === 0, `onError was called: ${show(watch.errors)}`);
      return `pages [m1 m2] + [m3] grew to [m3 m4 m5]; ${watch.values.length} updates`;
    } finally {
      unsubscribe();
    }
  }],

  ["unknown_function", async () => {
    const watch = new Watch("onUpdate testapp:no_such_function");
    const unsubscribe = alice.onUpdate(anyApi.testapp.no_such_function, {}, watch.onValue,
      watch.onError);
    let message;
    try {
      await watch.until((w) => w.errors.length > 0, "onError");
      const [err] = watch.errors;
      message = err.message;
      expect(err instanceof Error && !(err instanceof ConvexError),
        `expected a plain Error, got ${show(err)}`);
      expect(err.message.includes("Could not find public function"),
        `expected "Could not find public function", got ${show(err.message)}`);
      expect(watch.values.length === 0, `the callback got values: ${show(watch.values)}`);
    } finally {
      unsubscribe();
    }
    // An internal function is not reachable either; the socket keeps working.
    const err2 = await expectRejects(alice.query(api.testapp.secret, {}), "query testapp:secret");
    expect(err2.message.includes("Could not find public function"),
      `internal testapp:secret: expected "Could not find public function", got ${show(err2)}`);
    expectEqual(await within(alice.query(api.testapp.ping, {}), "ping"), "pong", "ping after");
    return message;
  }],

  // Opt-in (run only when named, by test_official_js_sync.py, which sets it up): the mutation
  // testapp:nested_partial(RACE_NAME) is held mid-transaction by a row lock the test holds, while
  // the test makes the server start a slow subscription tick whose snapshot has the mutation in
  // progress; then the lock is released and the mutation commits. When `await mutation()`
  // resolves, the subscription must show the new channel: a Transition whose endVersion.ts
  // reaches the mutation's ts must reflect its writes.
  ["read_your_writes_during_a_tick", async () => {
    const name = process.env.RACE_NAME;
    expect(name, "RACE_NAME is not set: this check is set up by test_official_js_sync.py");
    const watch = new Watch("alice onUpdate testapp:channel_names");
    const unsubscribe = alice.onUpdate(api.testapp.channel_names, {}, watch.onValue,
      watch.onError);
    try {
      await watch.until((w) => w.values.length > 0, "the first result");
      expect(!watch.latest.includes(name), `${name} exists already`);
      process.stderr.write("RACE: subscribed, sending the mutation\n");
      const result = await within(alice.mutation(api.testapp.nested_partial, { name }),
        "mutation testapp:nested_partial", 20_000);
      expectEqual(result.caught, { code: "ROLLED_BACK" }, "nested_partial's caught error");
      const latest = watch.latest;
      const current = unsubscribe.getCurrentValue();
      expect(latest.includes(name) && current.includes(name),
        `the mutation resolved but the subscription does not show its write yet: onUpdate's `
        + `latest value has ${name}: ${latest.includes(name)}, getCurrentValue() has it: `
        + `${(current ?? []).includes(name)} (read-your-writes broken: a Transition at or past `
        + `the mutation's ts came from a snapshot that does not include it)`);
      return `${name} visible when the mutation resolved`;
    } finally {
      unsubscribe();
    }
  }, { optIn: true }],

  // Run while the test holds a writing transaction open elsewhere (another database, or an
  // unrelated table of this one): MUTATION_COUNT mutations, each with an optimistic update, one
  // after another. Each must resolve promptly (its round trip is reported), and no value the
  // subscription delivers may show the message twice (the optimistic row beside the real one:
  // what a Transition that shows the write but carries a ts below the mutation's looks like).
  ["mutations_beside_a_long_transaction", async () => {
    const count = Number(process.env.MUTATION_COUNT || 100);
    const channel = await newChannel(alice, "held");
    const args = { channel };
    const watch = new Watch("alice onUpdate testapp/messages:list");
    const unsubscribe = alice.onUpdate(api.testapp.messages.list, args, watch.onValue,
      watch.onError);
    const doubled = [];
    const seen = (rows, body) => rows.filter((row) => row.body === body).length;
    try {
      await watch.until((w) => w.values.length > 0, "the first result");
      const times = [];
      for (let i = 0; i < count; i++) {
        const body = `held ${i} ${unique}`;
        const check = (value) => {
          if (seen(value ?? [], body) > 1) doubled.push({ i, rows: value.length });
        };
        watch.waiters.add(() => check(watch.latest));
        const started = performance.now();
        await within(alice.mutation(api.testapp.messages.send,
          { channel, body, author: "alice" }, {
            optimisticUpdate: (store) => {
              const current = store.getQuery(api.testapp.messages.list, args);
              if (current !== undefined) {
                store.setQuery(api.testapp.messages.list, args, [...current,
                  { _id: `optimistic-${i}`, _creationTime: Date.now(), channel, body,
                    author: "alice", score: 0 }]);
              }
            },
          }), `mutation ${i}`);
        times.push(performance.now() - started);
        watch.waiters.clear();
        const latest = watch.latest ?? [];
        expect(seen(latest, body) === 1 && !latest.some((r) => r._id === `optimistic-${i}`),
          `mutation ${i} resolved but the subscription shows ${seen(latest, body)} row(s) `
          + `with its body (optimistic row still there: ${latest.some((r) => r._id === `optimistic-${i}`)})`);
      }
      expect(doubled.length === 0, `the message was shown twice (optimistic and real) in `
        + `${doubled.length} update(s), first: ${show(doubled[0])}`);
      times.sort((a, b) => a - b);
      const pct = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
      return JSON.stringify({ count, p50: +pct(0.5).toFixed(1), p99: +pct(0.99).toFixed(1),
        max: +times[times.length - 1].toFixed(1) });
    } finally {
      unsubscribe();
    }
  }, { optIn: true }],

  // Last: nothing above made either client reconnect (a server that closes sockets or sends a
  // FatalError shows up here) and nothing is left in flight.
  ["stable_connections", async () => {
    const states = {};
    for (const [name, client] of Object.entries(clients)) {
      const state = client.connectionState();
      states[name] = state;
      expect(state.isWebSocketConnected, `${name} is not connected: ${show(state)}`);
      expectEqual(state.connectionCount, 1, `${name} connectionCount`);
      expectEqual(state.connectionRetries, 0, `${name} connectionRetries`);
      expect(!state.hasInflightRequests, `${name} has requests in flight: ${show(state)}`);
    }
    return Object.entries(states).map(([n, s]) => `${n}: ${s.connectionCount} connection`)
      .join(", ");
  }],
];

const known = new Set(checks.map(([name]) => name));
for (const name of only ?? []) {
  if (!known.has(name)) results[name] = { ok: false, detail: `no such check ${name}` };
}
for (const [name, run, { optIn = false } = {}] of checks) {
  if (only ? !only.has(name) : optIn) continue;
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
try {
  await within(Promise.all([alice.close(), bob.close()]), "closing the clients", 5_000);
} catch (err) {
  logs.push(`closing the clients: ${err && err.message}`);
}
emit({ ok, checks: results, logs }, ok ? 0 : 1);
process.exit(ok ? 0 : 1);
