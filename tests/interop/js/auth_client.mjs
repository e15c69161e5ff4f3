// Drives the official WebSocket `ConvexClient` (npm convex 1.48.0) through token auth against a
// reactive server that accepts the test issuers of tests/auth_support.py.
//
//   node auth_client.mjs http://127.0.0.1:8000 <HS issuer> <HS secret> <audience> [check,...]
//
// Checks: a Django login turned into tokens by /api/auth/token (`setAuth` with a fetcher that
// sends the session cookie), an external issuer's token (HS256, signed here), `clearAuth()`, and
// short-lived tokens refreshed while a subscription stays live: refreshed by the client ahead of
// `exp`, and refreshed only after the server ended the expired token (no `iat`: the client
// cannot schedule a refetch, so the server's AuthError drives it). Prints ONE JSON line like
// sync_client.mjs. Driven by tests/interop/test_official_auth.py.

import { emit, fatal, reportAlso, show } from "./report.mjs"; // first: the crash handlers
import { createHmac } from "node:crypto";

const WAIT_MS = 15_000;
const SCRIPT_DEADLINE_MS = 80_000;

const results = {};
const logs = [];
reportAlso(() => ({ checks: results, logs: logs.slice(-80) }));
setTimeout(() => fatal("deadline",
  new Error(`auth_client.mjs did not finish in ${SCRIPT_DEADLINE_MS} ms`)), SCRIPT_DEADLINE_MS);

const [url, hsIssuer, hsSecret, audience, onlyArg] = process.argv.slice(2);
if (!audience) {
  fatal("usage", new Error("usage: node auth_client.mjs <url> <issuer> <secret> <audience>"));
}
const only = onlyArg ? new Set(onlyArg.split(",")) : null;

const { ConvexClient } = await import("convex/browser");
const { anyApi: api } = await import("convex/server");

class CheckFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function within(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function makeLogger(name) {
  const record = (level) => (...args) => {
    if (logs.length < 500) {
      logs.push(`[${name} ${level}] ${args.map((a) => (typeof a === "string" ? a : show(a))).join(" ")}`);
    }
  };
  return { logVerbose: () => {}, log: record("log"), warn: record("warn"), error: record("error") };
}

/** The latest value of a query subscription, and waits on it. */
function watch(client, ref, args, what) {
  const w = { values: [], errors: [], waiters: new Set() };
  const poke = () => { for (const f of [...w.waiters]) f(); };
  w.unsubscribe = client.onUpdate(ref, args, (v) => { w.values.push(v); poke(); },
    (e) => { w.errors.push(e); poke(); });
  w.latest = () => w.values[w.values.length - 1];
  w.until = (predicate, description, ms = WAIT_MS) => new Promise((resolve, reject) => {
    let timer;
    const check = () => {
      let done = false;
      try { done = w.values.length > 0 && predicate(w.latest()); } catch { done = false; }
      if (done) { clearTimeout(timer); w.waiters.delete(check); resolve(w.latest()); }
    };
    timer = setTimeout(() => {
      w.waiters.delete(check);
      reject(new CheckFailed(`${what}: timed out waiting for ${description}; latest ${show(w.latest())}, `
        + `errors ${show(w.errors.map((e) => e.message))}`));
    }, ms);
    w.waiters.add(check);
    check();
  });
  return w;
}

const b64u = (data) => Buffer.from(data).toString("base64url");

/** An HS256 token of the test HS issuer. */
function hsToken(claims) {
  const header = b64u(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64u(JSON.stringify({ iss: hsIssuer, aud: audience, ...claims }));
  const signature = createHmac("sha256", hsSecret).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${signature}`;
}

const unique = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const open = [];

function newClient(name, options = {}) {
  const client = new ConvexClient(url, { logger: makeLogger(name), ...options });
  open.push(client);
  return client;
}

/** A Django login: the session cookie. */
async function login(username) {
  const res = await fetch(`${url}/test/login?username=${encodeURIComponent(username)}`);
  expect(res.ok, `login: ${res.status}`);
  return res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
}

/** A short-lived-token fetcher: every call signs a new token (`gen` counts them). */
function shortTokens(subject, lifetimeSeconds, withIat) {
  const fetcher = async (args) => {
    fetcher.calls.push(args.forceRefreshToken);
    const now = Math.floor(Date.now() / 1000);
    const gen = fetcher.calls.length;
    return hsToken({ sub: subject, gen, exp: now + lifetimeSeconds, ...(withIat ? { iat: now } : {}) });
  };
  fetcher.calls = [];
  return fetcher;
}

/** Tokens are refreshed while a subscription stays live and mutations keep their identity. */
async function refreshes(name, withIat, options, serverEnds) {
  const client = newClient(name, options);
  const subject = `js-${name}-${unique}`;
  const fetcher = shortTokens(subject, 4, withIat);
  const changes = [];
  client.setAuth(fetcher, (isAuthenticated) => changes.push(isAuthenticated));
  const counter = `${name}-${unique}`;
  const who = watch(client, api.testapp.whoami, {}, `${name} whoami`);
  const seen = watch(client, api.testapp.auth_probe.seen, { name: counter }, `${name} seen`);
  await who.until((v) => v && v.subject === subject, "the token's identity");
  const firstGen = who.latest().gen;
  // go on past two lifetimes of a token: the identity (its `gen`) moves on, the socket lives
  const deadline = Date.now() + 10_000;
  let bumps = 0;
  while (Date.now() < deadline) {
    const value = await within(client.mutation(api.testapp.auth_probe.bump, { name: counter }),
      `${name} bump`);
    bumps += 1;
    await seen.until((v) => v.value >= value && v.subject === subject, `the bump to ${value}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const lastGen = (await who.until((v) => v && v.gen > firstGen + 1, "a refreshed token")).gen;
  const recorded = await within(
    client.mutation(api.testapp.auth_probe.record, { name: `${counter}-last` }), "record");
  expect(recorded === subject, `a mutation after the refreshes ran as ${show(recorded)}`);
  expect(!changes.includes(false), `onChange reported a logout: ${show(changes)}`);
  expect(changes[0] === true, `onChange: ${show(changes)}`);
  // refreshed ahead, the socket is never closed; refreshed after, the server ended each token
  const connections = client.connectionState().connectionCount;
  expect(serverEnds ? connections > 1 : connections === 1,
    `${connections} connection(s), expected ${serverEnds ? "more than one" : "one"}`);
  return `gen ${firstGen} -> ${lastGen}, ${fetcher.calls.length} fetches, ${bumps} bumps, `
    + `connections ${client.connectionState().connectionCount}`;
}

const checks = [
  ["session_token", async () => {
    const username = `js-auth-${unique}`;
    const cookie = await login(username);
    const client = newClient("session");
    let fetches = 0;
    client.setAuth(async () => {
      fetches += 1;
      const res = await fetch(`${url}/api/auth/token`, { headers: { Cookie: cookie } });
      expect(res.ok, `/api/auth/token: ${res.status}`);
      return (await res.json()).token;
    });
    const who = watch(client, api.testapp.whoami, {}, "session whoami");
    const identity = await who.until((v) => v && v.issuer === "django", "the session's identity");
    expect(identity.preferredUsername === username, `identity ${show(identity)}`);
    expect(fetches >= 1, "the fetcher was not called");
    return `${identity.tokenIdentifier} (${fetches} fetches)`;
  }],
  ["external_token", async () => {
    const client = newClient("external");
    const subject = `js-ext-${unique}`;
    client.setAuth(async () => hsToken({ sub: subject, name: "Ext", exp: Math.floor(Date.now() / 1000) + 300, iat: Math.floor(Date.now() / 1000) }));
    const who = watch(client, api.testapp.whoami, {}, "external whoami");
    const identity = await who.until((v) => v && v.subject === subject, "the token's identity");
    expect(identity.tokenIdentifier === `${hsIssuer}|${subject}` && identity.name === "Ext",
      `identity ${show(identity)}`);
    const recorded = await within(client.mutation(api.testapp.auth_probe.record,
      { name: `ext-${unique}` }), "record");
    expect(recorded === subject, `the mutation ran as ${show(recorded)}`);
    // clearAuth: the same subscription goes back to anonymous
    client.client.clearAuth();
    await who.until((v) => v === null, "anonymous after clearAuth");
    const anonymous = await within(client.mutation(api.testapp.auth_probe.record,
      { name: `ext-after-${unique}` }), "record after clearAuth");
    expect(anonymous === null, `after clearAuth the mutation ran as ${show(anonymous)}`);
    return identity.tokenIdentifier;
  }],
  ["refresh_ahead_of_expiry",
    () => refreshes("ahead", true, { authRefreshTokenLeewaySeconds: 1 }, false)],
  ["refresh_after_expiry", () => refreshes("after", false, {}, true)],
];

// the checks share nothing (each its own client, user and counters): run them side by side, so
// the two refresh checks' ten seconds of token lifetimes overlap
await Promise.all(checks.filter(([name]) => !only || only.has(name)).map(async ([name, run]) => {
  try {
    results[name] = { ok: true, detail: String(await run()) };
  } catch (err) {
    const detail = err instanceof CheckFailed
      ? err.message
      : `unexpected ${err && err.name}: ${err && err.message}\n${err && err.stack}`;
    results[name] = { ok: false, detail };
  }
}));
const ok = Object.values(results).every((r) => r.ok);
try {
  await within(Promise.all(open.map((c) => c.close())), "closing the clients", 5_000);
} catch (err) {
  logs.push(`closing the clients: ${err && err.message}`);
}
emit({ ok, checks: results, logs }, ok ? 0 : 1);
process.exit(ok ? 0 : 1);
