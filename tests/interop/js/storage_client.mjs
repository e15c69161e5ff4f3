// File storage with the official npm clients (convex 1.48.0) and Node's own fetch, as the Convex
// docs' "Uploading files" flow does it in a browser:
//   a mutation returns ctx.storage.generate_upload_url(); fetch POSTs the file to it with its
//   Content-Type; a mutation stores the answer's storageId in a table; a query's get_url is
//   fetched back and its bytes compared.
//
//   node storage_client.mjs http://127.0.0.1:8000
//
// Prints ONE JSON line: {"ok": bool, "checks": {"<name>": {"ok": bool, "detail": "..."}}}.
// Driven by tests/interop/test_official_js_storage.py.

import { emit, fatal, reportAlso, show } from "./report.mjs"; // first: the crash handlers

const WAIT_MS = 15_000;
const results = {};
reportAlso(() => ({ checks: results }));
const deadline = setTimeout(
  () => fatal("deadline", new Error("storage_client.mjs did not finish in 50 s")), 50_000);

const url = process.argv[2];
if (!url) fatal("usage", new Error("usage: node storage_client.mjs <server url>"));

const { ConvexClient, ConvexHttpClient } = await import("convex/browser");
const { anyApi: api } = await import("convex/server");

class CheckFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

async function check(name, body) {
  try {
    results[name] = { ok: true, detail: show(await body()) };
  } catch (err) {
    results[name] = { ok: false, detail: `${err.name}: ${err.message}` };
  }
}

const files = api.testapp.files;
const socket = new ConvexClient(url);
const http = new ConvexHttpClient(url);
// bytes no text encoding would keep: every byte value, and more than one read's worth
const payload = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) % 256);
const name = `js-upload-${Date.now().toString(36)}`;

async function uploadThrough(client, label) {
  const postUrl = await client.mutation(files.generate_upload_url, {});
  expect(typeof postUrl === "string" && postUrl.startsWith(url),
    `${label}: generate_upload_url should be an absolute URL on ${url}, got ${show(postUrl)}`);
  const file = new Blob([payload], { type: "image/png" });
  const result = await fetch(postUrl, {
    method: "POST",
    headers: { "Content-Type": file.type },
    body: file,
  });
  if (!result.ok) throw new CheckFailed(`${label}: POST answered ${result.status} ${await result.text()}`);
  const { storageId } = await result.json();
  expect(typeof storageId === "string", `${label}: no storageId in the answer`);
  return { postUrl, storageId };
}

async function fetchedBack(fileUrl, label) {
  const got = await fetch(fileUrl);
  expect(got.status === 200, `${label}: GET ${fileUrl} answered ${got.status}`);
  expect(got.headers.get("content-type") === "image/png",
    `${label}: content-type ${got.headers.get("content-type")}`);
  const bytes = new Uint8Array(await got.arrayBuffer());
  expect(bytes.length === payload.length && bytes.every((b, i) => b === payload[i]),
    `${label}: the bytes fetched back differ (${bytes.length} bytes)`);
  return bytes.length;
}

await check("upload_over_websocket", async () => {
  const { postUrl, storageId } = await uploadThrough(socket, "websocket");
  await socket.mutation(files.attach, { storageId, name });
  const listed = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CheckFailed("attachments: no update")), WAIT_MS);
    const stop = socket.onUpdate(files.attachments, {}, (value) => {
      const mine = value.find((a) => a.name === name);
      if (mine) {
        clearTimeout(timer);
        stop();
        resolve(mine);
      }
    });
  });
  expect(listed.url === `${url}/api/storage/${storageId}`, `get_url gave ${show(listed.url)}`);
  const size = await fetchedBack(listed.url, "websocket");
  const again = await fetch(postUrl, { method: "POST", body: new Blob([payload]) });
  expect(again.status === 409, `a second POST to the same URL answered ${again.status}`);
  return { storageId, size };
});

await check("upload_over_http", async () => {
  const { storageId } = await uploadThrough(http, "http");
  const fileUrl = await http.query(files.url, { id: storageId });
  const size = await fetchedBack(fileUrl, "http");
  const meta = await http.query(files.metadata, { id: storageId });
  expect(meta.size === payload.length && meta.contentType === "image/png",
    `metadata ${show(meta)}`);
  await http.mutation(files.delete, { id: storageId });
  expect((await http.query(files.url, { id: storageId })) === null, "deleted: get_url not null");
  expect((await fetch(fileUrl)).status === 404, "deleted: the file URL still serves");
  return { storageId, size };
});

await socket.close();
clearTimeout(deadline);
const ok = Object.values(results).every((r) => r.ok);
emit({ ok, checks: results }, ok ? 0 : 1);
