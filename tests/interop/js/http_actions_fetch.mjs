// Calls reactive's HTTP actions (tests/testapp/http.py) with Node's own `fetch`, as a browser or
// a Convex user's code would: the npm `convex` client has no HTTP action API.
//
//   node http_actions_fetch.mjs http://127.0.0.1:8000
//
// Prints ONE JSON line: {"ok": bool, "checks": {"<name>": {"ok": bool, "detail": "..."}}}.
// Driven by tests/interop/test_http_actions_fetch.py.

import { emit, fatal, show } from "./report.mjs";

const url = process.argv[2];
if (!url) {
  fatal("usage", new Error("usage: node http_actions_fetch.mjs <server url>"));
}

const checks = {};

async function check(name, fn) {
  try {
    const detail = await fn();
    checks[name] = { ok: true, detail: show(detail) };
  } catch (err) {
    checks[name] = { ok: false, detail: err instanceof Error ? err.message : show(err) };
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

await check("json_in_json_out", async () => {
  const r = await fetch(`${url}/hooks/echo`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ from: "node", n: [1, 2] }),
  });
  const body = await r.json();
  expect(r.status === 201, `status ${r.status}`);
  expect(body.got.from === "node" && body.got.n[1] === 2, `body ${show(body)}`);
  expect(body.ctx === "ActionCtx", `ctx ${body.ctx}`);
  return body.got;
});

await check("cors_simple_request", async () => {
  const r = await fetch(`${url}/cors/data`, { headers: { Origin: "https://app.example.test" } });
  const origin = r.headers.get("access-control-allow-origin");
  expect(origin === "https://app.example.test", `allow-origin ${origin}`);
  expect(r.headers.get("vary") === "Origin", `vary ${r.headers.get("vary")}`);
  return origin;
});

await check("error_shape", async () => {
  const r = await fetch(`${url}/hooks/refuse`, { method: "POST" });
  const body = await r.json();
  expect(r.status === 500, `status ${r.status}`);
  expect(body.data.code === "NOT_ALLOWED", `body ${show(body)}`);
  expect(body.code.startsWith("[Request ID: "), `code ${body.code}`);
  return body;
});

await check("stream_chunk_by_chunk", async () => {
  const r = await fetch(`${url}/hooks/stream?pause=1.0`);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  const first = await reader.read();
  const firstAt = Date.now() / 1000;
  expect(decoder.decode(first.value) === "first\n", `first chunk ${show(first.value)}`);
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += decoder.decode(value);
  }
  const [word, produced] = rest.trim().split(" ");
  expect(word === "last", `rest ${rest}`);
  expect(firstAt < Number(produced) - 0.5, `first read at ${firstAt}, last made at ${produced}`);
  return { firstAt, produced };
});

const ok = Object.values(checks).every((c) => c.ok);
emit({ ok, checks }, ok ? 0 : 1);
