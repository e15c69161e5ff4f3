import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

const status = v.union(v.literal("draft"), v.literal("sent"), v.literal("failed"));
const visibility = v.union(v.literal("public"), v.literal("private"));

export default defineSchema({
  users: defineTable({
    name: v.string(),
    handle: v.string(),
    age: v.optional(v.number()),
    karma: v.int64(),
    admin: v.boolean(),
    avatar: v.optional(v.id("_storage")),
    key: v.bytes(),
    level: v.union(v.literal(1n), v.literal(2n)),
    pinned: v.optional(v.literal(true)),
  }).index("by_handle", ["handle"]),

  // one table, two shapes: every field of both, optional where a shape lacks it
  events: defineTable(
    v.union(
      v.object({ kind: v.literal("click"), x: v.number(), y: v.number() }),
      v.object({ kind: v.literal("key"), key: v.string() }),
    ),
  ).index("by_kind", ["kind"]),

  rooms: defineTable({
    title: v.string(),
    owner: v.id("users"),
    topic: v.union(v.string(), v.null()),
    // a named union inside another: still one column, with choices
    visibility: v.union(visibility, v.null()),
    // named like the module the fields below come from
    models: v.array(v.string()),
    settings: v.object({ muted: v.boolean(), color: v.optional(v.string()) }),
    cleanup: v.optional(v.id("_scheduled_functions")),
  }),

  // a table named like a Python constant
  none: defineTable({ note: v.string() }),

  messages: defineTable({
    room: v.id("rooms"),
    user: v.id("users"),
    body: v.string(),
    status,
    kind: v.literal("text"),
    priority: v.union(v.literal(1), v.literal(2), v.null()),
    tags: v.array(v.string()),
    meta: v.any(),
    reactions: v.record(v.string(), v.number()),
    payload: v.union(v.string(), v.number()),
    replyTo: v.optional(v.id("messages")),
    updated: v.number(),
    embedding: v.array(v.float64()),
  })
    .index("by_room", ["room"])
    .index("by_room_and_user", ["room", "user"])
    .index("by_room_and_user_and_updated", ["room", "user", "updated"])
    .searchIndex("search_body_in_room_and_status", {
      searchField: "body",
      filterFields: ["room", "status"],
    })
    .vectorIndex("by_embedding_filtered_by_room", {
      vectorField: "embedding",
      dimensions: 4,
      filterFields: ["room"],
    }),
});
