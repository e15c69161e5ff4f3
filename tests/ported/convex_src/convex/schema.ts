// The app's schema, as Convex has it. `manage.py reactive convex-schema` turns it into
// tests/ported/portapp/models.py.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  authors: defineTable({
    name: v.string(),
    color: v.optional(v.string()),
  }).index("by_name", ["name"]),

  messages: defineTable({
    channel: v.string(),
    author: v.id("authors"),
    body: v.string(),
    likes: v.number(),
  })
    .index("by_channel", ["channel"])
    // 31 characters: longer than a Django index name may be
    .index("by_channel_and_author_and_likes", ["channel", "author", "likes"]),

  typing: defineTable({
    channel: v.string(),
    author: v.id("authors"),
    until: v.number(),
  }).index("by_channel_and_until", ["channel", "until"]),
});
