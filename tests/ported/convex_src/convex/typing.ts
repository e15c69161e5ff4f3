import { v } from "convex/values";
import { mutation, query } from "./_generated/server";
import { authorId } from "./authors";

const TYPING_MS = 3000;

export const start = mutation({
  args: { channel: v.string(), author: v.string() },
  handler: async (ctx, { channel, author }) => {
    const id = await authorId(ctx, author);
    const mine = await ctx.db
      .query("typing")
      .withIndex("by_channel_and_until", (q) => q.eq("channel", channel))
      .filter((q) => q.eq(q.field("author"), id))
      .first();
    const until = Date.now() + TYPING_MS;
    if (mine) await ctx.db.patch(mine._id, { until });
    else await ctx.db.insert("typing", { channel, author: id, until });
  },
});

export const who = query({
  args: { channel: v.string(), now: v.number() },
  handler: async (ctx, { channel, now }) => {
    const rows = await ctx.db
      .query("typing")
      .withIndex("by_channel_and_until", (q) => q.eq("channel", channel).gt("until", now))
      .collect();
    return await Promise.all(rows.map(async (row) => (await ctx.db.get(row.author))?.name));
  },
});
