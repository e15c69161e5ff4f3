// The official WebSocket `ConvexClient` (npm convex) subscribed to a full-text search.
//
//   node search_client.mjs http://127.0.0.1:PORT CHANNEL
//
// It subscribes to `testapp/search:bodies({text: "zebra stri", channel: CHANNEL})` (a typeahead
// search: "stri" is a prefix), waits for the first result, inserts a matching document with
// `testapp/search:add` and one that does not match, and waits for the search to show the match.
// Prints ONE JSON line: {"ok": bool, "values": [[...], ...]}. Driven by
// tests/interop/test_official_js_search.py.

import { emit, fatal } from "./report.mjs"; // first: the crash handlers

const [url, channel] = process.argv.slice(2);
if (!channel) fatal("usage", new Error("usage: node search_client.mjs <url> <channel>"));
setTimeout(() => fatal("deadline", new Error("search_client.mjs did not finish in 40 s")), 40_000);

console.log = (...args) => console.error(...args); // the client's own logs: not the result line
const { ConvexClient } = await import("convex/browser");
const { anyApi } = await import("convex/server");

const values = [];
const client = new ConvexClient(url, { unsavedChangesWarning: false });
const seen = (predicate) => new Promise((resolve) => {
  const check = () => (values.some(predicate) ? resolve() : setTimeout(check, 10));
  check();
});
client.onUpdate(anyApi.testapp.search.bodies, { text: "zebra stri", channel }, (v) =>
  values.push(v),
);
await seen(() => true);
await client.mutation(anyApi.testapp.search.add, { body: "a horse", channel });
await client.mutation(anyApi.testapp.search.add, { body: "Zebra stripes, seen", channel });
await seen((v) => v.includes("Zebra stripes, seen"));
await client.close();
emit({ ok: true, values }, 0);
process.exit(0);
