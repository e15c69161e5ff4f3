// The official WebSocket `ConvexClient` (npm convex 1.48.0) moving from one server process to
// another in the middle of a mutation.
//
//   node move_client.mjs http://127.0.0.1:A http://127.0.0.1:B COUNTER_NAME
//
// The client connects to A through a WebSocket class of our own; every later connection goes to
// B. It subscribes to `testapp/bench:get(COUNTER_NAME)` and runs one `bench:bump` on A. Then it
// sends a second bump and, as soon as the frame is out, stops reading (the MutationResponse is
// lost) and drops the connection once A has committed it (seen over HTTP); the client
// reconnects, to B, and re-sends the mutation with its session id and request id. Prints ONE JSON line:
//   {"ok": bool, "first": n, "second": n, "values": [...], "urls": [...], "state": {...}}
// Driven by tests/interop/test_official_js_multiprocess.py, which checks the counter itself.

import { emit, fatal } from "./report.mjs"; // first: the crash handlers
import WebSocket from "ws";

const [a, b, name] = process.argv.slice(2);
if (!name) fatal("usage", new Error("usage: node move_client.mjs <url A> <url B> <name>"));
setTimeout(() => fatal("deadline", new Error("move_client.mjs did not finish in 40 s")), 40_000);

console.log = (...args) => console.error(...args); // the client's own logs: not the result line
const { ConvexClient } = await import("convex/browser");
const { anyApi } = await import("convex/server");

const urls = [];
let dropNextMutation = false;

class Moving extends WebSocket {
  constructor(url, protocols) {
    const target = urls.length === 0 ? url : url.replace(toWs(a), toWs(b));
    urls.push(target);
    super(target, protocols);
    this.dropping = false;
  }

  set onmessage(handler) {
    super.onmessage = (event) => {
      if (!this.dropping) handler(event);
    };
  }

  get onmessage() {
    return super.onmessage;
  }

  send(data) {
    super.send(data);
    if (dropNextMutation && JSON.parse(String(data)).type === "Mutation") {
      dropNextMutation = false;
      this.dropping = true; // the response to this mutation never reaches the client
      // once A has committed it (seen over HTTP), the connection drops
      committedOnA(2).then(() => this.terminate(), (err) => fatal("committedOnA", err));
    }
  }
}

async function committedOnA(value) {
  for (let i = 0; i < 500; i++) {
    const r = await fetch(`${a}/api/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "testapp/bench:get", args: { name }, format: "json" }),
    });
    if ((await r.json()).value === value) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the mutation did not commit on A`);
}

function toWs(url) {
  return url.replace(/^http/, "ws");
}

const values = [];
const client = new ConvexClient(a, { webSocketConstructor: Moving, unsavedChangesWarning: false });
const seen = (v) => new Promise((resolve) => {
  const check = () => (values.includes(v) ? resolve() : setTimeout(check, 10));
  check();
});
client.onUpdate(anyApi.testapp.bench.get, { name }, (v) => values.push(v));
const first = await client.mutation(anyApi.testapp.bench.bump, { name });
await seen(first);
dropNextMutation = true;
const second = await client.mutation(anyApi.testapp.bench.bump, { name });
await seen(second);
const state = client.connectionState();
await client.close();
emit({ ok: true, first, second, values, urls, state }, 0);
process.exit(0);
