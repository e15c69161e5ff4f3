// Message search (chat:search, a full-text search index on the body). The results are a live
// query too: a new message that matches shows up in them.
import { $, el, showError } from "./dom.js";

export function setUpSearch(client, api, openChannel) {
  let stop = null;
  const results = $("#results");

  function render(found) {
    results.replaceChildren(...(found.length === 0
      ? [el("li", { className: "empty", textContent: "No matches." })]
      : found.map((m) => {
        const button = el("button", {},
          el("span", { className: "where", textContent: `#${m.channelName} · ${m.authorName}` }),
          el("span", { className: "body", textContent: m.body }));
        button.addEventListener("click", () => openChannel(m.channel));
        return el("li", {}, button);
      })));
  }

  $("#search").addEventListener("input", (event) => {
    const text = event.target.value.trim();
    if (stop) stop();
    stop = null;
    if (!text) {
      results.replaceChildren();
      return;
    }
    stop = client.onUpdate(api.chat.search, { text }, render, showError);
  });
  $("#search").closest("form").addEventListener("submit", (event) => event.preventDefault());
}
