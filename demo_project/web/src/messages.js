// The message list of the shown channel, newest first, a page at a time (chat:paginated_messages
// through the client's paginated query API, as React's usePaginatedQuery), with the messages
// still being sent, the "/later" messages still pending (live from _scheduled_functions), and
// the send form (text, "/later N text", "@bot ...", a file).
import { $, clock, el, showError, showStatus } from "./dom.js";

const PAGE_SIZE = 20;
let client, api, loggedIn;
const state = {
  channelId: null,
  stops: [], // unsubscribe functions of the shown channel's queries
  page: { results: [], status: "LoadingFirstPage", loadMore: () => false },
  sending: [], // {key, body, fileName}: sent, not yet confirmed by the server
};

function messageItem(m) {
  const item = el("li", { className: m.author === null ? "message bot" : "message" },
    el("div", { className: "meta" },
      el("span", { className: "author", textContent: m.authorName }),
      el("time", { textContent: clock(m._creationTime) })),
    m.body ? el("div", { className: "body", textContent: m.body }) : null);
  if (m.attachmentUrl) {
    const link = el("a", { href: m.attachmentUrl, target: "_blank", className: "attachment" });
    if ((m.attachmentType || "").startsWith("image/")) {
      link.append(el("img", { src: m.attachmentUrl, alt: m.attachment_name }));
    } else {
      link.textContent = `Attachment: ${m.attachment_name || "file"}`;
    }
    item.append(link);
  }
  return item;
}

// #messages is a column-reverse list: the DOM holds the newest first (as the pages come), the
// screen shows it at the bottom, and the browser keeps the view pinned there as messages arrive.
function render() {
  const { results, status } = state.page;
  const items = state.sending.map((s) => el("li", { className: "message sending" },
    el("div", { className: "meta" }, el("span", { className: "author", textContent: "you" }),
      el("time", { textContent: "sending…" })),
    el("div", { className: "body", textContent: s.fileName ? `${s.body} [${s.fileName}]` : s.body })));
  items.push(...results.map(messageItem));
  if (status === "LoadingFirstPage") {
    items.push(el("li", { className: "empty", textContent: "Loading…" }));
  } else if (results.length === 0 && state.sending.length === 0) {
    items.push(el("li", { className: "empty", textContent: "No messages yet." }));
  }
  if (status === "CanLoadMore" || status === "LoadingMore") {
    const more = el("button", {
      id: "load-more", className: "link", disabled: status === "LoadingMore",
      textContent: status === "LoadingMore" ? "Loading…" : "Load older messages",
    });
    more.addEventListener("click", () => state.page.loadMore(PAGE_SIZE));
    items.push(el("li", { className: "more" }, more));
  }
  $("#messages").replaceChildren(...items);
}

function renderPending(pending) {
  $("#pending").replaceChildren(...pending.map((p) => {
    const cancel = el("button", { className: "link", textContent: "Cancel" });
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        await client.mutation(api.chat.cancel_later, { id: p._id });
        showStatus("Cancelled: it will not be posted.");
      } catch (error) {
        showError(error);
      }
    });
    return el("li", {}, el("span", { className: "body", textContent: p.body }),
      el("time", { textContent: `posts at ${clock(p.scheduledTime)}` }), cancel);
  }));
}

function markRead() { // the user has seen this channel up to now (its unread count goes to 0)
  if (document.visibilityState === "visible") {
    client.mutation(api.chat.mark_read, { channel: state.channelId }).catch(() => {});
  }
}

export function showChannel(id) {
  state.stops.forEach((stop) => stop());
  state.stops = [];
  state.channelId = id;
  state.sending = [];
  state.page = { results: [], status: id ? "LoadingFirstPage" : "Exhausted", loadMore: () => false };
  render();
  renderPending([]);
  if (id === null) return;
  state.stops.push(client.onPaginatedUpdate_experimental(api.chat.paginated_messages,
    { channel: id }, { initialNumItems: PAGE_SIZE }, (page) => {
      state.page = page;
      render();
      if (loggedIn) markRead();
    }, showError));
  if (loggedIn) {
    state.stops.push(client.onUpdate(api.chat.pending_later, { channel: id }, renderPending, showError));
  }
}

async function upload(file) { // Convex's upload flow: a one-time URL, POST the bytes, get an id
  const url = await client.mutation(api.chat.generate_upload_url, {});
  let response;
  try {
    const type = file.type || "application/octet-stream";
    response = await fetch(url, { method: "POST", headers: { "Content-Type": type }, body: file });
  } catch { // fetch's own "Failed to fetch" says nothing to a user
    throw new Error(`${file.name} could not be uploaded: the server did not answer. Send again.`);
  }
  if (!response.ok) throw new Error(`Upload failed: ${(await response.json()).message}`);
  return (await response.json()).storageId;
}

async function send(event) {
  event.preventDefault();
  if (!loggedIn) return; // its inputs are disabled anyway; the server would refuse
  const form = event.target;
  const input = form.elements.body;
  const file = form.elements.file.files[0];
  const channel = state.channelId;
  if (!channel) return showStatus("Pick a channel first.", true);
  const body = input.value;
  if (!body.trim() && !file) return showStatus(""); // Enter in an empty box: nothing to send
  const entry = { key: Symbol("sending"), body, fileName: file ? file.name : null };
  const later = /^\/later(\s|$)/i.test(body.trim()); // scheduled (or refused), not posted now
  if (later) {
    showStatus("Scheduling…"); // until the server answers (offline: once the socket is back)
  } else {
    state.sending.unshift(entry); // shown greyed at once, even offline
    render();
  }
  input.value = "";
  form.elements.file.value = "";
  $("#file-name").textContent = "";
  try {
    const args = { channel, body };
    if (file) Object.assign(args, { attachment: await upload(file), attachmentName: file.name });
    // The promise resolves once this page's subscriptions already show the new message.
    const result = await client.mutation(api.chat.send, args);
    if (result.scheduled) {
      showStatus(`Scheduled for ${clock(result.scheduledTime)}; it is listed above the message box until then.`);
    } else {
      showStatus("");
    }
  } catch (error) {
    if (channel === state.channelId && !input.value) { // given back, to fix and resend
      input.value = body;
      if (file && !form.elements.file.files.length) {
        const files = new DataTransfer();
        files.items.add(file);
        form.elements.file.files = files.files;
        $("#file-name").textContent = file.name;
      }
    }
    showError(error);
  } finally {
    state.sending = state.sending.filter((s) => s.key !== entry.key);
    if (channel === state.channelId) render();
  }
}

export function setUpMessages(convexClient, convexApi, isLoggedIn) {
  client = convexClient;
  api = convexApi;
  loggedIn = isLoggedIn;
  $("#send").addEventListener("submit", send);
  if (!loggedIn) return; // a visitor's page has no file input, and nothing to mark read
  $("#send input[name=file]").addEventListener("change", (event) => {
    const file = event.target.files[0];
    $("#file-name").textContent = file ? file.name : "";
  });
  document.addEventListener("visibilitychange", () => {
    if (state.channelId) markRead();
  });
}
