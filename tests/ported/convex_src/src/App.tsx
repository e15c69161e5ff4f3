// The app's one page: the newest messages of #general, five at a time, live.
import { useMutation, usePaginatedQuery, useQuery } from "convex/react";
import { ConvexError } from "convex/values";
import { FormEvent, useState } from "react";
import { api } from "../convex/_generated/api";

const CHANNEL = "general";

export default function App() {
  const [name] = useState(
    () => new URLSearchParams(window.location.search).get("name") ?? "guest",
  );
  const { results, status, loadMore } = usePaginatedQuery(
    api.messages.list,
    { channel: CHANNEL },
    { initialNumItems: 5 },
  );
  const stats = useQuery(api.stats.default);
  const send = useMutation(api.messages.send);
  const like = useMutation(api.messages.like);
  const [body, setBody] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await send({ channel: CHANNEL, author: name, body });
      setBody("");
    } catch (err) {
      if (err instanceof ConvexError) {
        const { code, max, length } = err.data as { code: string; max: number; length: number };
        setError(`${code}: ${length} characters, at most ${max}`);
      } else {
        setError("Could not send the message");
      }
    }
  }

  return (
    <main>
      <h1>#{CHANNEL}</h1>
      <p id="stats">{stats ? `${stats.messages} messages, ${stats.likes} likes` : "…"}</p>
      <form id="send" onSubmit={onSubmit}>
        <input name="body" value={body} onChange={(e) => setBody(e.target.value)} />
        <button type="submit">Send</button>
      </form>
      {error && (
        <p id="error" role="alert">
          {error}
        </p>
      )}
      <ul id="messages">
        {results.map((message) => (
          <li key={message._id} className="message">
            <b className="author">{message.authorName}</b>:{" "}
            <span className="body">{message.body}</span>{" "}
            <button className="like" onClick={() => void like({ id: message._id })}>
              ♥ {message.likes}
            </button>
          </li>
        ))}
      </ul>
      <button id="more" disabled={status !== "CanLoadMore"} onClick={() => loadMore(5)}>
        {status === "Exhausted" ? "That is all" : "Load more"}
      </button>
    </main>
  );
}
