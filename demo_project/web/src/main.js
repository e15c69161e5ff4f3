// The chat page, on the official Convex browser client (npm `convex`, bundled by esbuild: see
// package.json). `ConvexClient` speaks Convex's WebSocket sync protocol, which reactive serves:
// the page subscribes to queries and re-renders whenever their results change, with no polling.
import { ConvexClient } from "convex/browser";
import { anyApi } from "convex/server";
import { $, el, fragment, showError, showStatus } from "./dom.js";
import { setUpMessages, showChannel } from "./messages.js";
import { setUpSearch } from "./search.js";

const client = new ConvexClient(window.location.origin);
const api = anyApi; // api.chat.send is the function "chat:send"
const loggedIn = document.body.dataset.loggedIn === "true";
const LAST_CHANNEL = "reactive-chat:channel"; // localStorage key
// localStorage throws (SecurityError) when the browser blocks site data: the page then just
// does not remember the channel.
function remembered() {
  try {
    return localStorage.getItem(LAST_CHANNEL);
  } catch {
    return null;
  }
}
function remember(name) {
  try {
    localStorage.setItem(LAST_CHANNEL, name);
  } catch {
    // blocked: nothing remembered
  }
}
const state = { channels: [], channelId: null, unread: {} };

// Authentication: Django's session buys a short-lived JWT at /api/auth/token and the client sends
// it over the WebSocket (an Authenticate message), calling fetchToken again before it expires.
// The functions see the user as the token's subject (the user's pk).
async function fetchToken() {
  const response = await fetch("/api/auth/token", { method: "POST", credentials: "same-origin" });
  if (!response.ok) return null; // logged out in another tab: the socket goes on anonymously
  return (await response.json()).token;
}
if (loggedIn) {
  client.setAuth(fetchToken, (ok) => (document.body.dataset.socketAuth = ok ? "token" : "none"));
}

// The connection badge. While the socket is down the client queues mutations and sends them
// when it is back; the messages being sent stay greyed until then (messages.js).
function showConnection({ isWebSocketConnected, hasEverConnected }) {
  const badge = $("#connection");
  badge.textContent = isWebSocketConnected ? "live" : hasEverConnected ? "offline" : "connecting…";
  badge.className = isWebSocketConnected ? "live" : hasEverConnected ? "offline" : "";
  document.body.classList.toggle("offline", hasEverConnected && !isWebSocketConnected);
}
showConnection(client.connectionState());
client.subscribeToConnectionState(showConnection);

function renderChannels() {
  $("#channels").replaceChildren(...state.channels.map((channel) => {
    const unread = channel._id === state.channelId ? 0 : state.unread[channel._id] || 0;
    const button = el("button", { title: `#${channel.name}` },
      el("span", { className: "name", textContent: `# ${channel.name}` }),
      unread ? el("span", { className: "unread", textContent: unread > 99 ? "99+" : unread }) : null);
    button.dataset.channel = channel.name;
    if (channel._id === state.channelId) button.className = "active";
    button.addEventListener("click", () => selectChannel(channel._id));
    return el("li", {}, button);
  }));
  const current = state.channels.find((c) => c._id === state.channelId);
  $("#channel-name").textContent = current ? `# ${current.name}` : "No channel";
  $("#channel-name").title = current ? `#${current.name}` : "";
  if (current) {
    if (location.hash !== `#${current.name}`) history.replaceState(null, "", `#${current.name}`);
    remember(current.name);
  }
}

// `closeMenu`: false when the page picks the channel itself, which must not close the phone
// menu the user opened meanwhile (the channel list can arrive after they tapped ☰).
function selectChannel(id, closeMenu = true) {
  if (closeMenu) document.body.classList.remove("nav-open");
  if (id === state.channelId) return;
  state.channelId = id;
  showStatus("");
  renderChannels();
  showChannel(id);
}

// Which channel to show first: the URL's #name, else the last one this browser showed, else
// #general, else the first.
function wantedChannel(channels) {
  const byName = (name) => channels.find((c) => c.name === name);
  return byName(fragment(location.hash)) ||
    byName(remembered()) || byName("general") || channels[0];
}

client.onUpdate(api.chat.list_channels, {}, (channels) => {
  state.channels = channels;
  if (!channels.some((c) => c._id === state.channelId)) {
    const wanted = wantedChannel(channels);
    selectChannel(wanted ? wanted._id : null, false);
  }
  renderChannels();
}, showError);

window.addEventListener("hashchange", () => {
  const wanted = state.channels.find((c) => c.name === fragment(location.hash));
  if (wanted) selectChannel(wanted._id);
});

if (loggedIn) {
  client.onUpdate(api.chat.unread_counts, {}, (unread) => {
    state.unread = unread;
    renderChannels();
  }, showError);

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
}

$("#menu").addEventListener("click", () => document.body.classList.toggle("nav-open"));

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

setUpMessages(client, api, loggedIn);
setUpSearch(client, api, (channelId) => selectChannel(channelId));
