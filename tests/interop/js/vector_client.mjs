// Calls an action that runs a vector search with the official `ConvexHttpClient` (npm convex
// 1.48.0), as a Convex app would:
//
//   node vector_client.mjs http://127.0.0.1:8000 '[0.1, 0.2, ...]' '<genre>'
//
// Prints ONE JSON line: {"ok": true, "hits": [{"_id": ..., "_score": ...}, ...]}.
// Driven by tests/interop/test_official_vector_search.py.

import { emit, fatal } from "./report.mjs"; // first: installs the crash handlers

const [url, vectorJson, genre] = process.argv.slice(2);
if (!url || !vectorJson || !genre) {
  fatal("usage", new Error("usage: node vector_client.mjs <server url> <vector json> <genre>"));
}

const { ConvexHttpClient } = await import("convex/browser");
const { anyApi } = await import("convex/server");

const client = new ConvexHttpClient(url);
const hits = await client.action(anyApi.testapp.vectors.similar_movies, {
  vector: JSON.parse(vectorJson),
  limit: 2,
  where: [["genre", genre]],
});
emit({ ok: true, hits }, 0);
