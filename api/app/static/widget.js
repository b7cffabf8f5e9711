// Chat widget for Rasa's socket.io channel (events user_uttered / bot_uttered, session persistence).
// Every piece of text is inserted with textContent or as text nodes: nothing a traveller, the bot
// or an agent writes is ever parsed as HTML. Phone numbers in the bot's and agents' messages are
// <a href="tel:…"> elements built here, kept on one line (appendWithPhones).
//
// Conversation identity (bot/channels/socketio.py): the server issues the session id, a signed
// token, in session_confirm; the widget never makes one up. The token is kept in sessionStorage
// (this tab only, gone when it closes: nothing left behind on a shared computer); "新对话" forgets
// it and the server starts a new conversation.
//
// The conversation itself lives on the server (Rasa's tracker): after every session_confirm the
// channel sends `history`, and the widget draws exactly that, so an agent's reply sent while the
// tab was closed is there when the traveller comes back. Live: bot_uttered (bot and agents),
// user_echo (the traveller's messages written in another tab of this conversation), bot_typing
// and handoff_state (is an agent in the chat).
//
// Typing cues during a handoff (issue 15), never stored: while the traveller types, the widget
// sends traveller_typing {typing: true} at most every TYPING_REPEAT_MS and {typing: false} when
// they stop, send or clear the box (the agent's console shows 对方正在输入…); agent_typing from
// the server shows 客服正在输入… until the agent stops, their message arrives, or it goes stale.
(async function () {
  "use strict";

  const params = new URLSearchParams(location.search);
  const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\])$/i;

  // Where Rasa is, in this order:
  // 1. ?rasa= — development only: honoured when the page itself is served from this machine and
  //    names a server on this machine, so a crafted link cannot send a traveller's chat elsewhere;
  // 2. <meta name="travelchat-rasa" content="https://chat.example.com">, set by a site whose
  //    chat lives on another origin;
  // 3. the page's own origin, when Rasa's socket.io channel answers there: behind the nginx
  //    front of `make run-scale` (:8080), docker compose or the Kubernetes Ingress, which route
  //    /socket.io/ and /webhooks/ to Rasa (no CORS, no extra public port);
  // 4. else the page's host on Rasa's port 5005: `make run`, where the API serves the page on
  //    :8000 and Rasa listens on :5005 (the same-origin check then gets the API's 404).
  function configuredRasaUrl() {
    const meta = document.querySelector('meta[name="travelchat-rasa"]');
    const configured = meta && meta.content ? meta.content : null;
    const wanted = params.get("rasa");
    if (!wanted || !LOOPBACK.test(location.hostname)) return configured;
    try {
      const url = new URL(wanted);
      if (/^https?:$/.test(url.protocol) && LOOPBACK.test(url.hostname)) return url.origin;
    } catch (e) { /* not a URL */ }
    return configured;
  }
  // Rasa's socket.io channel answers GET /webhooks/socketio/ with {"status": "ok"} (its health
  // route); a page served by the API alone gets a 404 there. Bounded, so a hung front cannot
  // keep the widget from starting.
  async function servesRasa(origin) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 3000);
    try {
      const reply = await fetch(`${origin}/webhooks/socketio/`, { cache: "no-store", credentials: "omit", signal: abort.signal });
      if (!reply.ok) return false;
      const body = await reply.json();
      return !!body && body.status === "ok";
    } catch (e) {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
  async function rasaUrl() {
    const configured = configuredRasaUrl();
    if (configured) return configured;
    if (await servesRasa(location.origin)) return location.origin;
    return `${location.protocol}//${location.hostname}:5005`;
  }
  const RASA_URL = await rasaUrl();
  const KEY_SESSION = "travelchat.session_id";
  const KEY_OPEN = "travelchat.open";
  const MAX_SHOWN = 300; // messages kept on the page
  // The API's farewell when an agent hands back or closes (api/app/api/routes/handoffs.py).
  const FAREWELL = /^人工客服已结束本次服务/;
  const WELCOME = "您好！我是旅行客服小助手，可以帮您查行程、问政策、登记投诉。需要人工帮助请回复“转人工”。";
  const store = window.sessionStorage;
  // Earlier versions kept the id and the conversation in the browser: forget them.
  try {
    localStorage.removeItem(KEY_SESSION); localStorage.removeItem("travelchat.history");
    store.removeItem("travelchat.history");
  } catch (e) { /* ignore */ }

  const $ = (id) => document.getElementById(id);
  const widget = $("chat-widget"), launcher = $("chat-launcher"), log = $("chat-log");
  const form = $("chat-form"), input = $("chat-input"), statusEl = $("chat-status");
  const agentEl = $("chat-agent"), typingEl = $("chat-typing"), unreadEl = $("chat-unread");
  const confirmBox = $("chat-confirm"), confirmText = $("chat-confirm-text");
  const baseTitle = document.title;

  // The server's token for this tab's conversation; null until the first session_confirm.
  let sessionId = store.getItem(KEY_SESSION);
  let confirmed = false; // session_request answered: our socket is in the session's room
  let historyShown = false; // this session's history drawn: the outbox may go
  let flushTimer = null;
  const outbox = []; // messages typed while offline, sent once the session's history is shown
  let entries = []; // what the log shows, oldest first
  // Shown live since this session was confirmed (sent, echoed, answered): a history that arrives
  // after them (a slow server, after the 1.5 s fallback) may have been read before them.
  let live = [];
  let handoff = { handoff: false, agent: null };
  let unread = 0;
  let leaving = false;

  // China time, whatever the traveller's device says (DESIGN §4).
  const timeFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
  const dayFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", month: "numeric", day: "numeric" });
  function when(ts) {
    const at = new Date(ts * 1000);
    const today = dayFmt.format(new Date()) === dayFmt.format(at);
    return (today ? "" : dayFmt.format(at) + " ") + timeFmt.format(at);
  }

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  // Who is in the chat, under the title: the agent's name, or that the traveller is queued.
  function setHandoff(state) {
    handoff = { handoff: !!(state && state.handoff), agent: state && state.agent ? String(state.agent) : null };
    if (handoff.agent) {
      agentEl.textContent = `人工客服 ${handoff.agent} 正在为您服务`;
      agentEl.dataset.state = "agent";
    } else if (handoff.handoff) {
      agentEl.textContent = "正在为您转接人工客服…";
      agentEl.dataset.state = "waiting";
    } else {
      agentEl.textContent = "";
      agentEl.dataset.state = "bot";
    }
    agentEl.hidden = !handoff.handoff;
    if (!handoff.handoff && agentTyping) agentTypes(false); // nobody types once the agent has gone
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  // Phone numbers in the service's messages (bot and agents) become tel: links kept on one line:
  // a traveller in an emergency must read 400-820-1190 whole and be able to tap it. A number is
  // a run of digits, "+" first if any, in groups joined by one space or hyphen, with 5 to 15
  // digits (an "00" prefix not counted): 400-820-1190, +66 2 123 4567, 12308, 13800138000,
  // 0086-10-12308. Not numbers: a run glued to letters or to another number (TR20260001,
  // C20261120001, CA1234, 1,200, 12.50, 08:00, host:8080, a URL's path), after a Latin word and
  // a space ("TR 2026-0001"), a date (2026-12-07, 2026-12, 07-12-2026) or a year range, or a
  // quantity (12000元, 10000 人次, ¥12000). A last short group that counts something belongs to
  // the count: "12308 24 小时" links 12308. A shorter number is a link only when it is a known
  // emergency or service number (SHORT_NUMBERS), or one the bot's emergency reply dials, standing
  // on its own: "拨打120急救电话", "美国911", "旅游警察1155"; not "120元", "等了110分钟", "第119天", "110路", "120/80", "尾号 1155".
  // Lookbehind is avoided (older Safari cannot parse it).
  const PHONE_RUN = /\+?\d+(?:[ -]\d+)*/g;
  const NOT_BEFORE = /(?:[A-Za-z0-9_.,\/\\¥￥$€£#@&=+\-]|[A-Za-z0-9]:|[A-Za-z] )$/; // "电话:" and "电话：" are fine
  const NOT_AFTER = /^(?:[A-Za-z0-9_@]|[.,:：]\d|[元块万亿%％年月日号])/;
  const COUNT_AFTER = /^ ?(?:小时|分钟|天|周|个|人(?!工)|位|名|次|年|岁|晚|元|块|件|张|公里|米)/;
  const DATE_LIKE = /^(?:(?:19|20)\d\d-(?:0?[1-9]|1[0-2])(?:-(?:0?[1-9]|[12]\d|3[01]))?(?: |$)|\d{1,2}-\d{1,2}-(?:19|20)\d\d$|(?:19|20)\d\d-(?:19|20)\d\d$)/;

  // Well-known emergency and service numbers of 3 or 4 digits, links in any message (an agent's,
  // a policy answer): mainland China 110 police, 119 fire, 120 ambulance, 122 traffic accidents;
  // 999 Hong Kong, Macau, Singapore, Malaysia, United Kingdom; 995 Singapore ambulance and fire;
  // 112 Europe and Korea; 911 United States and Canada; 000 Australia; 111 New Zealand; Thailand
  // 191 police, 1155 tourist police, 1669 ambulance, 199 fire; 1330 Korea's tourist hotline.
  // (12308 and the like have 5 digits.) The local numbers of the bot's emergency reply need not
  // be here: the reply dials them itself (dialledAt), whatever data/emergency/numbers.yml adds.
  const SHORT_NUMBERS = new Set([
    "110", "119", "120", "122", "999", "995", "112", "911", "000", "111", "191", "199", "1155", "1669", "1330",
  ]);
  // The bot's emergency reply (actions/emergency.py) always gives the 24-hour line (紧急救援电话)
  // and puts each local number after 拨打, sometimes with a second one: "拨打 17（或欧盟通用 112）报警",
  // "拨打 122（旅游警察 126）", "拨打 113 和 115". In such a message the 2 to 4 digit numbers dialled
  // there are emergency numbers; "请拨打 1234 或 888 咨询" elsewhere stays text.
  const ADVICE_MARK = /紧急救援电话/;
  const DIALLED = /拨打 ?(\d{2,4})(?!\d)(?:（[^（）\d]{1,8} ?(\d{2,4})(?!\d)）| ?和 ?(\d{2,4})(?!\d))?/g;

  // Where the message dials a short number (the offsets of its digits), in the emergency reply.
  function dialledAt(text) {
    const found = new Set();
    if (!ADVICE_MARK.test(text)) return found;
    DIALLED.lastIndex = 0;
    for (let m; (m = DIALLED.exec(text));) {
      found.add(m.index + m[0].indexOf(m[1]));
      const second = m[2] || m[3];
      if (second) found.add(m.index + m[0].lastIndexOf(second));
    }
    return found;
  }

  // Before a short number: an ordinal or an estimate (第, 约, 共…), the other end of a range, a
  // time ("11：20"), or a word that makes it a code, tail digits or an extension (尾号, 工号,
  // 验证码, 分机…), with or without a colon and a space.
  const SHORT_NOT_BEFORE = /(?:[第约共计近逾满每号]|\d ?[-–~～至到]|\d[：.]|验证码|取件码|密码|分机|房间|车次|航班)[ :：]*$/;
  // After it: a unit, an estimate or a range (120平米, 110多人, 110~120, 120/80, 999+), on top of
  // the units every number checks (NOT_AFTER, COUNT_AFTER). "120来了" and "120多久到" are fine.
  const SHORT_NOT_AFTER = /^ ?(?:[-–~～至到] ?\d|[\/×*+＋℃°]|多(?!久)|来(?!了)|[余几千百斤克度秒分份条层楼间室路栋排座页届期级折倍遍辆台套双只朵瓶升房平]|公[斤里顷]|以[上下内外]|左右)/;

  // A short run is a phone number when it is an emergency number on its own: a well-known one,
  // or one the emergency reply dials right here (`dialled`, offsets).
  function emergencyAt(text, start, number, dialled) {
    if (!SHORT_NUMBERS.has(number) && !dialled.has(start)) return false;
    const before = text.slice(Math.max(0, start - 6), start);
    return !SHORT_NOT_BEFORE.test(before) && !SHORT_NOT_AFTER.test(text.slice(start + number.length));
  }

  function phoneAt(text, start, run, dialled) {
    const before = text.slice(Math.max(0, start - 2), start);
    if (NOT_BEFORE.test(before) || DATE_LIKE.test(run)) return null;
    let number = run;
    for (;;) {
      const after = text.slice(start + number.length);
      if (NOT_AFTER.test(after)) return null;
      if (COUNT_AFTER.test(after)) {
        if (!/ \d{1,3}$/.test(number)) return null; // 10000 人次: a quantity
        number = number.replace(/ \d{1,3}$/, ""); // "12308 24 小时": the 24 counts hours
        continue;
      }
      const groups = number.split(/[ -]/);
      if (groups.length > 1 && groups.every((group) => SHORT_NUMBERS.has(group))) {
        // "110 120" is two numbers (the next one is read after this), "110-120" a range
        return !number.includes("-") && emergencyAt(text, start, groups[0], dialled) ? groups[0] : null;
      }
      const digits = number.replace(/\D/g, "").replace(/^00/, "");
      if (digits.length >= 5 && digits.length <= 15) return number;
      return emergencyAt(text, start, number, dialled) ? number : null;
    }
  }

  // The text into `parent` as text nodes, each phone number an <a href="tel:…"> (digits and "+").
  function appendWithPhones(parent, text) {
    let from = 0;
    const dialled = dialledAt(text);
    PHONE_RUN.lastIndex = 0;
    for (let m; (m = PHONE_RUN.exec(text));) {
      const number = phoneAt(text, m.index, m[0], dialled);
      if (!number) continue;
      if (m.index > from) parent.appendChild(document.createTextNode(text.slice(from, m.index)));
      const link = document.createElement("a");
      link.className = "tel";
      link.href = "tel:" + number.replace(/[^\d+]/g, "");
      link.textContent = number;
      parent.appendChild(link);
      from = m.index + number.length;
      PHONE_RUN.lastIndex = from; // the rest of a run that was not all one number is read again
    }
    if (from < text.length) parent.appendChild(document.createTextNode(text.slice(from)));
  }

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
      if (entry.from === "bot" || entry.from === "agent") appendWithPhones(bubble, entry.text);
      else bubble.textContent = entry.text;
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
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", "可选回复");
      for (const b of entry.buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.disabled = !!entry.answered;
        button.addEventListener("click", () => {
          send(b.payload, b.title);
          input.focus(); // the next thing to do is usually to type
        });
        box.appendChild(button);
      }
      row.appendChild(box);
    }
    if (entry.ts) {
      const time = document.createElement("time");
      time.className = "at";
      time.dateTime = new Date(entry.ts * 1000).toISOString();
      time.textContent = when(entry.ts);
      row.appendChild(time);
    }
    entry.node = row;
    return row;
  }

  function add(entry) {
    entries.push(entry);
    log.appendChild(render(entry));
    while (entries.length > MAX_SHOWN) { const old = entries.shift(); if (old.node) old.node.remove(); }
    scroll();
    return entry;
  }

  // Buttons are used up once the traveller has answered (by a click or by typing).
  function answerButtons() {
    for (const e of entries) {
      if (e.buttons && !e.answered) {
        e.answered = true;
        if (e.node) e.node.querySelectorAll(".buttons button").forEach((x) => { x.disabled = true; });
      }
    }
  }

  function redraw(messages, after = []) {
    entries = [];
    log.textContent = "";
    add({ from: "bot", text: WELCOME });
    for (const m of messages) add(m);
    for (const e of after) add(e);
    for (const item of outbox) add(item.entry);
  }
  function addLive(entry) {
    live.push(entry);
    return add(entry);
  }
  // What was shown live and is not at the end of the history: the history was read before it.
  function notInHistory(messages) {
    const same = (e, m) => (e.from === "user") === (m.from === "user") && e.text === m.text;
    let k = Math.min(live.length, messages.length);
    while (k > 0 && !live.slice(0, k).every((e, i) => same(e, messages[messages.length - k + i]))) k--;
    return live.slice(k);
  }

  // Unread replies while the widget is closed or the tab hidden: a badge and the page title.
  function seen() { return !widget.hidden && !document.hidden; }
  function setUnread(n) {
    unread = n;
    unreadEl.hidden = n === 0;
    unreadEl.textContent = n > 99 ? "99+" : String(n);
    launcher.setAttribute("aria-label", n ? `在线客服，${n} 条新消息` : "在线客服");
    document.title = n ? `(${n}) 新消息 · ${baseTitle}` : baseTitle;
  }
  function arrived() { if (!seen()) setUnread(unread + 1); }
  document.addEventListener("visibilitychange", () => { if (seen()) setUnread(0); });

  // While the bot works on a message; not during a handoff (the paused bot does not answer).
  const BOT_TYPING = typingEl.textContent || "智能助手正在输入…";
  const AGENT_TYPING = "客服正在输入…";
  const TYPING_REPEAT_MS = 2000; // the traveller's cue, repeated while typing (throttle)
  const TYPING_IDLE_MS = 4000; // no key for this long: the traveller stopped
  const AGENT_TYPING_STALE_MS = 7000; // the agent's cue, unless renewed
  let agentTyping = false, agentTypingTimer = null;
  function showTyping(text) {
    typingEl.textContent = text;
    typingEl.hidden = !text;
  }
  function typing(on) {
    if (agentTyping && handoff.handoff) return; // the agent's cue has the line
    showTyping(on && !handoff.handoff ? BOT_TYPING : "");
  }
  function agentTypes(on) {
    clearTimeout(agentTypingTimer);
    agentTyping = !!on && !!handoff.handoff;
    showTyping(agentTyping ? AGENT_TYPING : "");
    if (agentTyping) agentTypingTimer = setTimeout(() => agentTypes(false), AGENT_TYPING_STALE_MS);
  }

  // The traveller's own cue: only during a handoff (a person is reading), throttled.
  let lastTypingSent = 0, idleTimer = null, typingSent = false;
  function travellerTypes(on) {
    clearTimeout(idleTimer);
    if (!confirmed) return;
    const now = Date.now();
    if (on && handoff.handoff) {
      if (!typingSent || now - lastTypingSent >= TYPING_REPEAT_MS) {
        socket.emit("traveller_typing", { typing: true });
        lastTypingSent = now;
        typingSent = true;
      }
      idleTimer = setTimeout(() => travellerTypes(false), TYPING_IDLE_MS);
    } else if (typingSent) {
      socket.emit("traveller_typing", { typing: false });
      typingSent = false;
    }
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

  function requestSession() {
    confirmed = false;
    historyShown = false;
    socket.emit("session_request", { session_id: sessionId });
  }

  socket.on("connect", () => {
    setStatus("connecting", "正在恢复会话…");
    requestSession();
  });

  function flush() {
    clearTimeout(flushTimer);
    while (confirmed && outbox.length) {
      const item = outbox.shift();
      emitUser(item.payload, item.entry.text);
      live.push(item.entry);
      item.entry.pending = false;
      if (item.entry.node) item.entry.node.classList.remove("pending");
    }
  }

  socket.on("session_confirm", (data) => {
    const id = typeof data === "string" ? data : data && data.session_id;
    if (!id) return;
    const expired = sessionId && id.split(".")[0] !== sessionId.split(".")[0];
    sessionId = id;
    store.setItem(KEY_SESSION, id);
    confirmed = true;
    live = [];
    if (expired && !leaving) {
      // The server did not accept our id (expired): a new conversation.
      redraw([]);
      add({ from: "system", text: "之前的会话已过期，已为您开始新的对话。" });
    }
    leaving = false;
    // "在线" and the outbox once the history is drawn; a server without history: shortly.
    flushTimer = setTimeout(() => { historyShown = true; setStatus("online", "在线"); flush(); }, 1500);
  });

  socket.on("history", (data) => {
    if (!data || !Array.isArray(data.messages)) return;
    const messages = data.messages.filter((m) => m && typeof m === "object").map((m) => ({
      from: ["user", "bot", "agent"].includes(m.from) ? m.from : "bot",
      text: typeof m.text === "string" ? m.text : "",
      agent: m.agent ? String(m.agent) : undefined,
      ts: Number(m.ts) || undefined,
      image: typeof m.image === "string" ? m.image : undefined,
      answered: !!m.answered,
      buttons: Array.isArray(m.buttons) ? m.buttons.map((b) => ({ title: String(b.title), payload: String(b.payload) })) : undefined,
    }));
    redraw(messages, notInHistory(messages));
    live = [];
    setHandoff(data.state);
    historyShown = true;
    setStatus("online", "在线");
    flush();
  });

  socket.on("disconnect", (reason) => {
    confirmed = false;
    typing(false);
    setStatus("offline", "连接已断开，正在重新连接…");
    if (reason === "io server disconnect") socket.connect(); // the server dropped us: come back
  });
  socket.on("connect_error", () => setStatus("offline", "暂时无法连接客服，正在重试…"));
  // The server refused a message (this socket holds no session yet): ask for it again.
  socket.on("session_refused", () => requestSession());

  socket.on("bot_typing", (data) => typing(!!(data && data.typing)));
  socket.on("agent_typing", (data) => agentTypes(!!(data && data.typing === true)));
  input.addEventListener("input", () => travellerTypes(input.value.trim() !== ""));
  socket.on("handoff_state", (state) => { if (state && typeof state === "object") setHandoff(state); });

  socket.on("user_echo", (msg) => {
    if (!msg || typeof msg.text !== "string" || !msg.text) return;
    answerButtons();
    addLive({ from: "user", text: msg.text, ts: Number(msg.ts) || Date.now() / 1000 });
  });

  socket.on("bot_uttered", (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (agentTyping) agentTypes(false); // the message being typed has arrived
    // The agent console relays a person's message as text followed by {handoff_agent}.
    if (msg.handoff_agent && !msg.text) {
      const name = String(msg.handoff_agent);
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i];
        if (e.from === "user") break;
        if (e.from === "bot") {
          e.from = "agent";
          e.agent = name;
          if (e.node) { const row = e.node; row.replaceWith(render(e)); }
          setHandoff(FAREWELL.test(e.text) ? { handoff: false } : { handoff: true, agent: name });
          break;
        }
      }
      return;
    }
    const entry = { from: "bot", text: typeof msg.text === "string" ? msg.text : "", ts: Date.now() / 1000 };
    const replies = msg.quick_replies || msg.buttons;
    if (Array.isArray(replies)) {
      entry.buttons = replies
        .filter((b) => b && (b.payload || b.title))
        .map((b) => ({ title: String(b.title || b.payload), payload: String(b.payload || b.title) }));
    }
    if (msg.attachment && msg.attachment.type === "image" && msg.attachment.payload) {
      entry.image = String(msg.attachment.payload.src || "");
    }
    if (entry.text || entry.image || (entry.buttons && entry.buttons.length)) {
      addLive(entry);
      arrived();
    }
  });

  function emitUser(payload, shown) {
    const data = { message: payload, session_id: sessionId };
    // A button's title, so the conversation's other tabs show it and not the payload.
    if (shown && shown !== payload) data.metadata = { shown_as: shown };
    socket.emit("user_uttered", data);
  }

  function send(payload, shown) {
    answerButtons();
    const ready = confirmed && historyShown;
    const fields = { from: "user", text: shown || payload, pending: !ready, ts: Date.now() / 1000 };
    const entry = ready ? addLive(fields) : add(fields);
    if (ready) emitUser(payload, shown);
    else outbox.push({ payload, entry });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    travellerTypes(false);
    send(text);
  });

  function open(on, focusBack) {
    widget.hidden = !on;
    launcher.hidden = on;
    launcher.setAttribute("aria-expanded", String(on));
    try { localStorage.setItem(KEY_OPEN, on ? "1" : "0"); } catch (e) { /* ignore */ }
    if (on) { setUnread(0); input.focus(); scroll(); }
    else if (focusBack) launcher.focus();
  }
  launcher.addEventListener("click", () => open(true));
  $("chat-close").addEventListener("click", () => open(false, true));

  // 新对话 asks first (inside the widget); during a handoff the agent is told before we leave.
  function ask(on) {
    confirmBox.hidden = !on;
    form.querySelectorAll("input, button").forEach((x) => { x.disabled = on; });
    if (on) {
      confirmText.textContent = handoff.handoff
        ? "人工客服正在为您服务。开始新对话后，客服将不再收到您在这里的消息。确定开始新对话吗？"
        : "开始新对话后，当前的对话记录将不再显示。确定开始新对话吗？";
      $("chat-confirm-no").focus();
    }
  }
  $("chat-restart").addEventListener("click", () => ask(true));
  $("chat-confirm-no").addEventListener("click", () => { ask(false); $("chat-restart").focus(); });
  $("chat-confirm-yes").addEventListener("click", () => {
    ask(false);
    outbox.length = 0;
    redraw([]);
    setHandoff(null);
    typing(false);
    leaving = true;
    if (confirmed) socket.emit("leave_conversation", {}); // the server answers conversation_left
    else { sessionId = null; store.removeItem(KEY_SESSION); }
    input.focus();
  });
  // The old conversation is settled (the agent told if there was one): the server issues a new one.
  socket.on("conversation_left", () => {
    sessionId = null;
    store.removeItem(KEY_SESSION);
    setStatus("connecting", "正在开始新对话…");
    requestSession();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || widget.hidden) return;
    event.preventDefault();
    if (!confirmBox.hidden) { ask(false); $("chat-restart").focus(); return; }
    open(false, true);
  });

  setHandoff(null);
  setUnread(0);
  redraw([]);
  open(params.get("open") === "1" || localStorage.getItem(KEY_OPEN) === "1");
  socket.connect();

  // For tests and debugging: the live socket, the token and the conversation it names (the
  // conversation id is what Rasa and the agent console know; only the token speaks in it).
  window.travelChat = {
    socket,
    rasaUrl: RASA_URL,
    get sessionId() { return sessionId; },
    get conversationId() { return sessionId ? sessionId.split(".")[0] : null; },
    get handoff() { return Object.assign({}, handoff); },
    get unread() { return unread; },
    get agentTyping() { return agentTyping; },
  };
})();
