// The chat page: plain `fetch` against Convex's HTTP API (/api/query, /api/mutation, /api/action),
// which reactive serves. The session cookie is the identity (same-origin requests only).
//
// For now the page polls every 2 s. A later issue replaces the polling with the official `convex`
// npm client (ConvexClient over the WebSocket sync protocol), so updates arrive as they happen.
"use strict";

const POLL_MS = 2000;
const loggedIn = document.body.dataset.loggedIn === "true";
const $ = (selector) => document.querySelector(selector);
const state = { channels: [], channelId: null, shown: "", created: null };

// One call of a function. Resolves to its value; rejects with an Error carrying `.data`
// (a ConvexError's data, e.g. {code: "NOT_LOGGED_IN"}) when the function fails.
async function call(kind, path, args = {}) {
  const response = await fetch(`/api/${kind}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ path, args: [args], format: "convex_encoded_json" }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || response.statusText); // a malformed request
  if (body.status === "success") return body.value;
  const error = new Error(body.errorMessage);
  error.data = body.errorData;
  throw error;
}
const query = (path, args) => call("query", path, args);
const mutation = (path, args) => call("mutation", path, args);
const action = (path, args) => call("action", path, args);

function showStatus(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

// What to say for the ConvexError codes the chat functions raise (errorData.code).
const ERRORS = {
  NOT_LOGGED_IN: "Log in to do that.",
  CHANNEL_EXISTS: "That channel already exists.",
  BAD_NAME: "Channel names are 1-32 of a-z, 0-9, '-' and '_'.",
  NO_CHANNEL: "That channel no longer exists.",
  EMPTY_MESSAGE: "Type a message first.",
  MESSAGE_TOO_LONG: "Messages are at most 2000 characters.",
};

function showError(error) {
  const data = error.data || {};
  showStatus(ERRORS[data.code] || data.message || error.message, true);
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function renderChannels() {
  const list = $("#channels");
  list.replaceChildren(...state.channels.map((channel) => {
    const button = el("button", { textContent: `# ${channel.name}` });
    if (channel._id === state.channelId) button.className = "active";
    button.addEventListener("click", () => selectChannel(channel._id));
    return el("li", {}, button);
  }));
  const current = state.channels.find((c) => c._id === state.channelId);
  $("#channel-name").textContent = current ? `# ${current.name}` : "No channel";
  if (current && location.hash !== `#${current.name}`) history.replaceState(null, "", `#${current.name}`);
}

function renderMessages(messages) {
  const list = $("#messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (messages.length === 0) {
    list.replaceChildren(el("li", { className: "empty", textContent: "No messages yet." }));
    return;
  }
  list.replaceChildren(...messages.map((m) => el("li", {},
    el("time", { textContent: new Date(m._creationTime).toLocaleTimeString() }),
    el("span", { className: "author", textContent: m.authorName }),
    el("span", { className: "body", textContent: m.body }),
  )));
  if (atBottom || state.justSwitched) list.scrollTop = list.scrollHeight;
  state.justSwitched = false;
}

async function refresh() {
  state.channels = await query("chat:list_channels");
  const present = state.channels.some((c) => c._id === state.channelId);
  if (present && state.channelId === state.created) state.created = null;
  const justCreated = state.created !== null && state.channelId === state.created;
  if (!present && !justCreated) { // none selected yet, or it was deleted
    const wanted = state.channels.find((c) => `#${c.name}` === location.hash) || state.channels[0];
    state.channelId = wanted ? wanted._id : null;
    state.justSwitched = true;
  }
  renderChannels();
  const channelId = state.channelId;
  const messages = channelId === null ? [] :
    await query("chat:list_messages", { channel: channelId, limit: 100 });
  const key = JSON.stringify(messages);
  // Re-render only on a change, so polling does not disturb scrolling or selection.
  if (channelId === state.channelId && key !== state.shown) {
    state.shown = key;
    renderMessages(messages);
  }
}

// Run refresh(), never two at once; a request made while one runs queues one more run.
let running = false;
let again = false;
async function refreshSoon() {
  if (running) { again = true; return; }
  running = true;
  try {
    do { again = false; await refresh(); } while (again);
    if (state.offline) { state.offline = false; showStatus(""); }
  } catch (error) {
    state.offline = true;
    showError(error);
  } finally {
    running = false;
  }
}

function selectChannel(id) {
  state.channelId = id;
  state.shown = "";
  state.justSwitched = true;
  showStatus("");
  refreshSoon();
}

$("#send").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.body;
  if (!loggedIn || !state.channelId || !input.value.trim()) return;
  try {
    await mutation("chat:send", { channel: state.channelId, body: input.value });
    input.value = "";
    showStatus("");
    state.justSwitched = true; // scroll to the new message
    await refreshSoon();
  } catch (error) {
    showError(error);
  }
});

$("#new-channel").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.name;
  try {
    const id = await mutation("chat:create_channel", { name: input.value });
    input.value = "";
    state.created = id; // keep it selected even if a refresh already under way lacks it
    selectChannel(id);
  } catch (error) {
    showError(error);
  }
});

$("#summarize").addEventListener("click", async () => {
  if (!state.channelId) return;
  try {
    const s = await action("chat:summarize", { channel: state.channelId });
    const who = s.authors.map((a) => `${a.name} (${a.messages})`).join(", ") || "nobody";
    showStatus(`${s.messages} messages by ${who}; common words: ${s.topWords.join(", ") || "none"}`);
  } catch (error) {
    showError(error);
  }
});

refreshSoon();
setInterval(refreshSoon, POLL_MS);
