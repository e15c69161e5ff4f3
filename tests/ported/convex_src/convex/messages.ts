import { paginationOptsValidator } from "convex/server";
import { ConvexError, v } from "convex/values";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { internalMutation, mutation, query } from "./_generated/server";
import { authorId } from "./authors";

const MAX_BODY = 200;

// Newest first, a page at a time (usePaginatedQuery), each with its author's name.
export const list = query({
  args: { channel: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, { channel, paginationOpts }) => {
    const results = await ctx.db
      .query("messages")
      .withIndex("by_channel", (q) => q.eq("channel", channel))
      .order("desc")
      .paginate(paginationOpts);
    return {
      ...results,
      page: await Promise.all(
        results.page.map(async (message) => {
          const author = await ctx.db.get(message.author);
          return { ...message, authorName: author?.name ?? "?" };
        }),
      ),
    };
  },
});

export const send = mutation({
  args: { channel: v.string(), author: v.string(), body: v.string() },
  handler: async (ctx, { channel, author, body }) => {
    if (body.length > MAX_BODY) {
      throw new ConvexError({ code: "TOO_LONG", max: MAX_BODY, length: body.length });
    }
    const id = await ctx.db.insert("messages", {
      channel,
      author: await authorId(ctx, author),
      body,
      likes: 0,
    });
    if (body.startsWith("/remind ")) {
      // the bot answers a second later, in a transaction of its own
      await ctx.scheduler.runAfter(1000, internal.messages.remind, {
        channel,
        text: body.slice("/remind ".length),
      });
    }
    return id;
  },
});

export const remind = internalMutation({
  args: { channel: v.string(), text: v.string() },
  handler: async (ctx, { channel, text }) => {
    await ctx.db.insert("messages", {
      channel,
      author: await authorId(ctx, "bot"),
      body: `Reminder: ${text}`,
      likes: 0,
    });
  },
});

// No `args`: the arguments are not validated.
export const like = mutation(async (ctx, { id }: { id: Id<"messages"> }) => {
  const message = await ctx.db.get(id);
  if (message === null) throw new ConvexError("no such message");
  await ctx.db.patch(id, { likes: message.likes + 1 });
});

// An author's messages in a channel, most liked first.
export const byAuthor = query({
  args: { channel: v.string(), author: v.id("authors") },
  handler: async (ctx, { channel, author }) => {
    return await ctx.db
      .query("messages")
      .withIndex("by_channel_and_author_and_likes", (q) =>
        q.eq("channel", channel).eq("author", author),
      )
      .order("desc")
      .collect();
  },
});
