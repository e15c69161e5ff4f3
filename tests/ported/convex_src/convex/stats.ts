import { query } from "./_generated/server";

// The module's default export: api.stats.default. No `args`: it takes any arguments.
export default query(async (ctx) => {
  const messages = await ctx.db.query("messages").collect();
  return { messages: messages.length, likes: messages.reduce((n, m) => n + m.likes, 0) };
});
