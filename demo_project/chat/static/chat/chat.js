// The chat page, on the official Convex browser client (npm `convex`, loaded before this script as
// static/convex/browser.bundle.js, which defines the global `convex`). `ConvexClient` speaks
// Convex's WebSocket sync protocol, which reactive serves: the page subscribes to queries and
// re-renders whenever their results change, with no polling. The WebSocket goes to this page's
// own origin, so it carries the Django session cookie: the logged-in user is the identity. A
// logged-in page also calls setAuth with a token the session buys (see fetchToken below).
"use strict";

const client = new convex.ConvexClient(window.location.origin);
const api = convex.anyApi; // api.chat.send is the function "chat:send"
const loggedIn = document.body.dataset.loggedIn === "true";
const $ = (selector) => document.querySelector(selector);
const state = { channels: [], channelId: null, stopMessages: null, scrollDown: false };

function showStatus(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

// What to say for the ConvexError codes the chat functions raise (error.data.code).
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
  $("#channels").replaceChildren(...state.channels.map((channel) => {
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
  if (atBottom || state.scrollDown) list.scrollTop = list.scrollHeight;
  state.scrollDown = false;
}

// Show one channel: drop the previous channel's subscription, subscribe to this one's messages.
function selectChannel(id) {
  if (id === state.channelId) return;
  if (state.stopMessages) state.stopMessages();
  state.stopMessages = null;
  state.channelId = id;
  state.scrollDown = true;
  showStatus("");
  renderChannels();
  if (id === null) {
    $("#messages").replaceChildren();
    return;
  }
  $("#messages").replaceChildren(el("li", { className: "empty", textContent: "Loading…" }));
  state.stopMessages = client.onUpdate(api.chat.list_messages, { channel: id, limit: 100 },
    renderMessages, showError);
}

// The channel list, kept current by the server. When the shown channel is gone (or none is shown
// yet), show the one named in the URL's #fragment, else the first.
client.onUpdate(api.chat.list_channels, {}, (channels) => {
  state.channels = channels;
  if (!channels.some((c) => c._id === state.channelId)) {
    const wanted = channels.find((c) => `#${c.name}` === location.hash) || channels[0];
    selectChannel(wanted ? wanted._id : null);
  }
  renderChannels();
}, showError);

// A logged-in page also authenticates its socket with a token, as a page served from another
// origin (where the session cookie does not travel) would: Django's session buys a short-lived JWT
// at /api/auth/token, the client sends it in an Authenticate message and fetches a fresh one
// before it expires. The functions see the same identity either way (subject = the user's pk).
async function fetchToken() {
  const response = await fetch("/api/auth/token", { method: "POST", credentials: "same-origin" });
  if (!response.ok) return null; // logged out in another tab: the socket goes on anonymously
  return (await response.json()).token;
}
function showAuth(isAuthenticated) {
  document.body.dataset.socketAuth = isAuthenticated ? "token" : "session";
}
if (loggedIn) client.setAuth(fetchToken, showAuth);

// The "live" badge: whether the client's WebSocket is open right now.
function showConnection({ isWebSocketConnected, hasEverConnected }) {
  const badge = $("#connection");
  badge.textContent = isWebSocketConnected ? "live" : hasEverConnected ? "reconnecting…" : "connecting…";
  badge.className = isWebSocketConnected ? "live" : "";
}
showConnection(client.connectionState());
client.subscribeToConnectionState(showConnection);

// A mutation's promise resolves once the page's subscriptions already show its writes.
$("#send").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.body;
  if (!loggedIn || !state.channelId) return;
  try {
    state.scrollDown = true; // to the new message
    await client.mutation(api.chat.send, { channel: state.channelId, body: input.value });
    input.value = "";
    showStatus("");
  } catch (error) {
    state.scrollDown = false;
    showError(error);
  }
});

$("#new-channel").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.name;
  try {
    const id = await client.mutation(api.chat.create_channel, { name: input.value });
    input.value = "";
    selectChannel(id);
  } catch (error) {
    showError(error);
  }
});

$("#summarize").addEventListener("click", async () => {
  if (!state.channelId) return;
  try {
    const s = await client.action(api.chat.summarize, { channel: state.channelId });
    const who = s.authors.map((a) => `${a.name} (${a.messages})`).join(", ") || "nobody";
    showStatus(`${s.messages} messages by ${who}; common words: ${s.topWords.join(", ") || "none"}`);
  } catch (error) {
    showError(error);
  }
});
