// Chat widget for Rasa's socket.io channel (events user_uttered / bot_uttered, session persistence).
// Every piece of text is inserted with textContent: nothing a traveller, the bot or an agent
// writes is ever parsed as HTML.
//
// Conversation identity (bot/channels/socketio.py): the server issues the session id, a signed
// token, in session_confirm; the widget never makes one up. The token and the conversation are
// kept in sessionStorage (this tab only, gone when it closes: nothing left behind on a shared
// computer); "新对话" forgets both and the server starts a new conversation.
(function () {
  "use strict";

  const params = new URLSearchParams(location.search);
  const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\])$/i;

  // Where Rasa is: <meta name="travelchat-rasa" content="https://chat.example.com"> set by the
  // site, else the page's host on Rasa's port. ?rasa= is for development only: honoured when
  // the page itself is served from this machine and names a server on this machine, so a
  // crafted link cannot send a traveller's chat anywhere else.
  function rasaUrl() {
    const meta = document.querySelector('meta[name="travelchat-rasa"]');
    const configured = meta && meta.content ? meta.content : `${location.protocol}//${location.hostname}:5005`;
    const wanted = params.get("rasa");
    if (!wanted || !LOOPBACK.test(location.hostname)) return configured;
    try {
      const url = new URL(wanted);
      if (/^https?:$/.test(url.protocol) && LOOPBACK.test(url.hostname)) return url.origin;
    } catch (e) { /* not a URL */ }
    return configured;
  }
  const RASA_URL = rasaUrl();
  const KEY_SESSION = "travelchat.session_id";
  const KEY_HISTORY = "travelchat.history";
  const KEY_OPEN = "travelchat.open";
  const MAX_HISTORY = 200;
  const store = window.sessionStorage;
  // Earlier versions kept the id and the conversation in localStorage: forget them.
  try { localStorage.removeItem(KEY_SESSION); localStorage.removeItem(KEY_HISTORY); } catch (e) { /* ignore */ }

  const $ = (id) => document.getElementById(id);
  const widget = $("chat-widget"), launcher = $("chat-launcher"), log = $("chat-log");
  const form = $("chat-form"), input = $("chat-input"), statusEl = $("chat-status");

  // The server's token for this tab's conversation; null until the first session_confirm.
  let sessionId = store.getItem(KEY_SESSION);
  let confirmed = false; // session_request answered: our socket is in the session's room
  const outbox = []; // messages typed while offline, sent after the session is confirmed
  let history = [];
  try { history = JSON.parse(store.getItem(KEY_HISTORY) || "[]"); } catch (e) { history = []; }

  // Stored without the DOM node each entry carries for re-rendering.
  function save() {
    history = history.slice(-MAX_HISTORY);
    const plain = history.map(({ node, ...rest }) => rest);
    store.setItem(KEY_HISTORY, JSON.stringify(plain));
  }

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  // One rendered message; `entry` is what we keep in sessionStorage.
  function render(entry) {
    const row = document.createElement("div");
    row.className = `msg ${entry.from}`;
    if (entry.pending) row.classList.add("pending");
    if (entry.from === "agent" || entry.from === "bot") {
      const who = document.createElement("div");
      who.className = "who";
      who.textContent = entry.from === "agent" ? `人工客服 · ${entry.agent || ""}` : "智能助手";
      row.appendChild(who);
    }
    if (entry.text) {
      const bubble = document.createElement("div");
      bubble.className = "bubble";
      bubble.textContent = entry.text;
      row.appendChild(bubble);
    }
    if (entry.image) {
      const img = document.createElement("img");
      img.alt = "图片";
      if (/^https?:\/\//i.test(entry.image)) img.src = entry.image; // no javascript: or data: URLs
      row.appendChild(img);
    }
    if (entry.buttons && entry.buttons.length) {
      const box = document.createElement("div");
      box.className = "buttons";
      for (const b of entry.buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.disabled = !!entry.answered;
        button.addEventListener("click", () => {
          entry.answered = true;
          box.querySelectorAll("button").forEach((x) => { x.disabled = true; });
          save();
          send(b.payload, b.title);
        });
        box.appendChild(button);
      }
      row.appendChild(box);
    }
    entry.node = row;
    log.appendChild(row);
    scroll();
    return row;
  }

  function add(entry) {
    const stored = Object.assign({}, entry);
    history.push(stored);
    save();
    render(stored);
    return stored;
  }

  const socket = io(RASA_URL, {
    // websocket only: Rasa's socket.io server has CORS handling switched off, and the
    // websocket transport needs no CORS (long-polling from :8000 to :5005 would).
    transports: ["websocket"],
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    autoConnect: false,
  });

  socket.on("connect", () => {
    confirmed = false;
    setStatus("connecting", "正在恢复会话…");
    socket.emit("session_request", { session_id: sessionId });
  });

  socket.on("session_confirm", (data) => {
    const id = typeof data === "string" ? data : data && data.session_id;
    if (!id) return;
    // A new id means the server did not accept ours (expired, or from before an upgrade): a new
    // conversation, whose answers must not sit under the old one's.
    if (sessionId && id.split(".")[0] !== sessionId.split(".")[0] && history.length) {
      add({ from: "bot", text: "之前的会话已过期，已为您开始新的对话。" });
    }
    sessionId = id;
    store.setItem(KEY_SESSION, id);
    confirmed = true;
    setStatus("online", "在线");
    while (outbox.length) {
      const item = outbox.shift();
      emitUser(item.payload);
      item.entry.pending = false;
      if (item.entry.node) item.entry.node.classList.remove("pending");
    }
    save();
  });

  socket.on("disconnect", (reason) => {
    confirmed = false;
    setStatus("offline", "连接已断开，正在重新连接…");
    if (reason === "io server disconnect") socket.connect(); // the server dropped us: come back
  });
  socket.on("connect_error", () => setStatus("offline", "暂时无法连接客服，正在重试…"));
  // The server refused a message (this socket holds no session yet): ask for it again.
  socket.on("session_refused", () => {
    confirmed = false;
    socket.emit("session_request", { session_id: sessionId });
  });

  socket.on("bot_uttered", (msg) => {
    if (!msg || typeof msg !== "object") return;
    // The agent console relays a person's message as text followed by {handoff_agent}.
    if (msg.handoff_agent && !msg.text) {
      for (let i = history.length - 1; i >= 0; i--) {
        const e = history[i];
        if (e.from === "user") break;
        if (e.from === "bot") {
          e.from = "agent";
          e.agent = String(msg.handoff_agent);
          if (e.node) { const row = e.node; const fresh = render(e); row.replaceWith(fresh); }
          break;
        }
      }
      save();
      return;
    }
    const entry = { from: "bot", text: typeof msg.text === "string" ? msg.text : "" };
    const replies = msg.quick_replies || msg.buttons;
    if (Array.isArray(replies)) {
      entry.buttons = replies
        .filter((b) => b && (b.payload || b.title))
        .map((b) => ({ title: String(b.title || b.payload), payload: String(b.payload || b.title) }));
    }
    if (msg.attachment && msg.attachment.type === "image" && msg.attachment.payload) {
      entry.image = String(msg.attachment.payload.src || "");
    }
    if (entry.text || entry.image || (entry.buttons && entry.buttons.length)) add(entry);
  });

  function emitUser(payload) {
    socket.emit("user_uttered", { message: payload, session_id: sessionId });
  }

  function send(payload, shown) {
    const entry = add({ from: "user", text: shown || payload, pending: !confirmed });
    if (confirmed) emitUser(payload);
    else outbox.push({ payload, entry });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });

  function open(on) {
    widget.hidden = !on;
    launcher.hidden = on;
    launcher.setAttribute("aria-expanded", String(on));
    localStorage.setItem(KEY_OPEN, on ? "1" : "0");
    if (on) { input.focus(); scroll(); }
  }
  launcher.addEventListener("click", () => open(true));
  $("chat-close").addEventListener("click", () => open(false));
  // 新对话: forget this tab's conversation; the server issues a new one on reconnecting.
  $("chat-restart").addEventListener("click", () => {
    history = []; outbox.length = 0; store.removeItem(KEY_HISTORY); log.textContent = "";
    sessionId = null; store.removeItem(KEY_SESSION);
    socket.disconnect(); socket.connect();
  });

  // Re-draw the conversation kept from before a reload, then reconnect to the same session.
  for (const entry of history) { entry.pending = false; render(entry); }
  if (!history.length) add({ from: "bot", text: "您好！我是旅行客服小助手，可以帮您查行程、问政策、登记投诉。需要人工帮助请回复“转人工”。" });
  open(params.get("open") === "1" || localStorage.getItem(KEY_OPEN) === "1");
  socket.connect();

  // For tests and debugging: the live socket, the token and the conversation it names (the
  // conversation id is what Rasa and the agent console know; only the token speaks in it).
  window.travelChat = {
    socket,
    rasaUrl: RASA_URL,
    get sessionId() { return sessionId; },
    get conversationId() { return sessionId ? sessionId.split(".")[0] : null; },
  };
})();
