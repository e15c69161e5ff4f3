// A small React front end written against Convex's generated API, as an existing Convex app
// would be. `tsc --noEmit` must accept it; every `@ts-expect-error` line must be a type error.
import { useMutation, usePaginatedQuery, useQuery } from "convex/react";
import { api, internal } from "../convex/_generated/api";
import type { Doc, Id } from "../convex/_generated/dataModel";

export function Messages({ channel }: { channel: Id<"channels"> }) {
  const name: string | undefined = useQuery(api.testapp.channel_name, { channel });
  const names = useQuery(api.testapp.channel_names_by_id, { channels: [channel] });
  const ping: string | undefined = useQuery(api.testapp.ping);
  const typed = useQuery(api.testapp.typed, {
    s: "s",
    n: 1,
    f: 1.5,
    b: true,
    i: 5n,
    by: new ArrayBuffer(1),
    tags: ["a"],
  });
  const send = useMutation(api.testapp.messages.send);
  const create = useMutation(api.testapp.create_channel);

  async function post(body: string): Promise<Id<"messages">> {
    const id = await send({ channel, body });
    // `send` returns a string (its return hint), which an Id is not: the cast is the user's.
    return id as Id<"messages">;
  }
  async function rename(): Promise<string> {
    return await create({ name: "general", topic: "t" });
  }

  // @ts-expect-error: `channel` must be an Id<"channels">, not a number
  useQuery(api.testapp.channel_name, { channel: 5 });
  // @ts-expect-error: a required argument is missing
  useQuery(api.testapp.channel_name, {});
  // @ts-expect-error: an Id of another table is not an Id<"channels">
  useQuery(api.testapp.channel_name, { channel: "x" as Id<"messages"> });
  // @ts-expect-error: internal functions are not in `api`
  useQuery(api.testapp.secret);
  // @ts-expect-error: a mutation is not a query
  useQuery(api.testapp.create_channel, { name: "x" });
  const secret = internal.testapp.secret;

  return (
    <ul onClick={() => void post("hi").then(rename)}>
      {name} {ping} {typed?.s} {String(secret)} {names?.join(",")}
    </ul>
  );
}

export function Paged({ channel }: { channel: Id<"channels"> }) {
  // a query with `paginationOpts: dict[str, Any]` and `-> Any`: typed for usePaginatedQuery
  const { results, status, loadMore } = usePaginatedQuery(
    api.testapp.messages.page,
    { channel },
    { initialNumItems: 10 },
  );
  // @ts-expect-error: a query without paginationOpts is not a paginated query
  usePaginatedQuery(api.testapp.channel_name, { channel }, { initialNumItems: 10 });
  return <p onClick={() => loadMore(10)}>{status} {results.length}</p>;
}

export function Row({ message }: { message: Doc<"messages"> }) {
  const channel: Id<"channels"> = message.channel;
  const created: number = message._creationTime;
  const big: bigint | null = message.big;
  // @ts-expect-error: a Doc has only its table's fields
  const missing = message.nope;
  // @ts-expect-error: `body` is a string
  const wrong: number = message.body;
  return (
    <li>
      {channel} {created} {String(big)} {message.body} {String(missing)} {wrong}
    </li>
  );
}
