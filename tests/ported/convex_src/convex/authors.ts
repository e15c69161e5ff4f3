import { v } from "convex/values";
import { MutationCtx, query } from "./_generated/server";

// Finds the author of that name, or adds one: `send` and `typing.start` take names.
export async function authorId(ctx: MutationCtx, name: string) {
  const found = await ctx.db
    .query("authors")
    .withIndex("by_name", (q) => q.eq("name", name))
    .unique();
  return found?._id ?? (await ctx.db.insert("authors", { name }));
}

export const get = query({
  args: { name: v.string() },
  handler: async (ctx, { name }) => {
    return await ctx.db
      .query("authors")
      .withIndex("by_name", (q) => q.eq("name", name))
      .unique();
  },
});
