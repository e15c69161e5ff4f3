// Small DOM helpers shared by the page's modules.

export const $ = (selector) => document.querySelector(selector);

export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function showStatus(text, isError = false) {
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
  NOT_YOURS: "That message was already posted or cancelled.",
  BAD_LATER: "Use /later N text: N seconds from now (0 to 99999), no file.",
};

export function showError(error) {
  const data = (error && error.data) || {};
  if (data.code === "SLOW_DOWN") {
    const seconds = Math.ceil((data.retryAfter || 0) / 1000);
    const text = `The bot answers a few questions at a time: ask again in ${seconds} s.`;
    return showStatus(text, true);
  }
  showStatus(ERRORS[data.code] || data.message || String(error.message || error), true);
}

// A URL's #fragment as text: a malformed %-escape (a mistyped or truncated link) is kept as is
// rather than thrown (decodeURIComponent throws URIError).
export function fragment(hash) {
  try {
    return decodeURIComponent(hash.slice(1));
  } catch {
    return hash.slice(1);
  }
}

// The time, and the date too when it is not today ("/later 99999 ..." is tomorrow).
export function clock(ms) {
  const date = new Date(ms);
  const today = date.toDateString() === new Date().toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}
