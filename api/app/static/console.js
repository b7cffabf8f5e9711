// Agent console: queue, take, live transcript, reply, linked ticket, hand back / close.
// All data from the API is inserted with textContent (never innerHTML): travellers' text may
// contain HTML or script and must show as text.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const QUEUE_POLL_MS = 2000;
  const TRANSCRIPT_POLL_MS = 1000; // the traveller's messages show within 2 s
  const PAYLOAD = /^\/(\w+)(\{.*\})?$/s; // a button the traveller pressed: /intent{"entity": "value"}

  // Every Chinese label comes from GET /labels, read once after login (api/app/api/routes/labels.py).
  let labels = null;
  let auth = null;
  try { auth = JSON.parse(sessionStorage.getItem("console.auth") || "null"); } catch (e) { auth = null; }
  let canned = []; // GET /canned-replies: [{key, title, text}]
  let selectedId = null;
  let selected = null; // the selected handoff as last read
  let transcriptKey = "";
  let queueTimer = null, transcriptTimer = null, heartbeatTimer = null, rosterTimer = null;
  const HEARTBEAT_MS = 30000; // the API counts an agent offline after AGENT_OFFLINE_SECONDS without one
  const ROSTER_POLL_MS = 10000;
  const TYPING_REPEAT_MS = 2500; // the agent's cue to the traveller, at most this often
  const TYPING_IDLE_MS = 4000; // no key for this long: the agent stopped typing
  const PRESENCE_LABELS = { online: "在线", away: "离开", offline: "离线" };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function detailText(body, status) {
    if (!body) return `请求失败（${status}）`;
    const d = body.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((x) => x.msg || JSON.stringify(x)).join("；");
    if (d && typeof d === "object") return d.msg || JSON.stringify(d);
    return `请求失败（${status}）`;
  }

  async function api(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    const token = auth ? auth.token : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    // Only a refusal of the session still in use logs out: a poll sent with the token of a
    // session since ended must not log out the agent who has just logged in again.
    if (response.status === 401 && auth && auth.token === token) { logout("登录已过期，请重新登录"); }
    if (response.status === 403 && auth && auth.token === token && !auth.mustChange && data && data.detail && data.detail.field === "password") {
      // The account still has its initial password: nothing but changing it is allowed.
      auth.mustChange = true;
      sessionStorage.setItem("console.auth", JSON.stringify(auth));
      start();
    }
    if (!response.ok) {
      const error = new Error(detailText(data, response.status));
      error.status = response.status;
      error.body = data;
      throw error;
    }
    return data;
  }

  function minutes(seconds) {
    if (seconds < 60) return `${seconds} 秒`;
    return `${Math.floor(seconds / 60)} 分 ${seconds % 60} 秒`;
  }

  function clock(iso) {
    const d = new Date(iso);
    return d.toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  }

  // --- login -------------------------------------------------------------------------------
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const data = await api("POST", "/auth/login", { username: $("login-user").value.trim(), password: $("login-pass").value });
      if (data.role !== "agent" && data.role !== "supervisor") throw new Error("该账号不能使用客服工作台");
      auth = {
        token: data.access_token, username: data.username, name: data.display_name, role: data.role,
        mustChange: Boolean(data.must_change_password),
      };
      sessionStorage.setItem("console.auth", JSON.stringify(auth));
      $("login-pass").value = "";
      start();
    } catch (error) {
      $("login-error").textContent = error.status === 401 ? "账号或密码错误"
        : error.status === 429 ? "登录失败次数过多，请稍后再试" : error.message;
    }
  });

  // --- first login: the initial password must be changed before anything else --------------
  function showPasswordForm() {
    $("login-view").hidden = true; $("desk").hidden = true; $("password-view").hidden = false;
    $("views").hidden = true; $("tickets-view").hidden = true;
    $("password-user").value = auth.username;
    $("password-error").textContent = "";
    $("password-current").focus();
  }

  function passwordProblem(current, next, again) {
    if (!current) return ["password-current", "请输入当前密码"];
    if (next.length < 12) return ["password-new", "新密码至少需要 12 个字符"];
    if (!next.trim()) return ["password-new", "新密码不能全是空格"];
    if (next === current) return ["password-new", "新密码不能与当前密码相同"];
    if (next !== again) return ["password-confirm", "两次输入的新密码不一致"];
    return null;
  }

  function passwordErrorText(error) {
    if (error.status === 403) return ["password-current", "当前密码不正确"];
    if (error.status === 422 && /initial/.test(error.message)) return ["password-new", "新密码不能是初始密码，请换一个"];
    if (error.status === 422) return ["password-new", "新密码不符合要求：至少 12 个字符，且与当前密码不同"];
    return [null, `修改失败，请稍后再试（${error.message}）`];
  }

  function markInvalid(id) {
    for (const name of ["password-current", "password-new", "password-confirm"]) {
      $(name).setAttribute("aria-invalid", name === id ? "true" : "false");
    }
    if (id) $(id).focus();
  }

  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const current = $("password-current").value, next = $("password-new").value, again = $("password-confirm").value;
    const problem = passwordProblem(current, next, again);
    if (problem) { markInvalid(problem[0]); $("password-error").textContent = problem[1]; return; }
    $("password-error").textContent = "";
    $("password-submit").disabled = true;
    try {
      await api("POST", "/auth/password", { current_password: current, new_password: next });
      for (const name of ["password-current", "password-new", "password-confirm"]) $(name).value = "";
      markInvalid(null);
      auth.mustChange = false;
      sessionStorage.setItem("console.auth", JSON.stringify(auth));
      start();
    } catch (error) {
      if (!auth) return; // 401: logged out, the login form says why
      const [field, text] = passwordErrorText(error);
      markInvalid(field);
      $("password-error").textContent = text;
    } finally {
      $("password-submit").disabled = false;
    }
  });

  function logout(message) {
    auth = null;
    sessionStorage.removeItem("console.auth");
    clearInterval(queueTimer); clearInterval(transcriptTimer); clearInterval(heartbeatTimer); clearInterval(rosterTimer);
    $("presence-box").hidden = true; $("roster").hidden = true;
    $("desk").hidden = true; $("password-view").hidden = true; $("login-view").hidden = false; $("logout").hidden = true;
    $("views").hidden = true; $("tickets-view").hidden = true;
    $("whoami").textContent = "";
    for (const name of ["password-current", "password-new", "password-confirm"]) $(name).value = "";
    $("login-error").textContent = message || "";
  }
  $("logout").addEventListener("click", () => {
    if (auth) fetch("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${auth.token}` } }).catch(() => {});
    logout();
  });

  function start() {
    $("logout").hidden = false;
    $("whoami").textContent = `${auth.name}（${auth.role === "supervisor" ? "主管" : "客服"}）`;
    if (auth.mustChange) { clearInterval(queueTimer); clearInterval(transcriptTimer); showPasswordForm(); return; }
    $("login-view").hidden = true; $("password-view").hidden = true; $("views").hidden = false;
    showView(currentView);
    clearInterval(queueTimer);
    loadReferenceData().then(() => {
      if (!auth || auth.mustChange) return;
      fillTicketFilters();
      if (currentView === "tickets") refreshTickets();
      refreshQueue();
      clearInterval(queueTimer);
      queueTimer = setInterval(refreshQueue, QUEUE_POLL_MS);
      startPresence();
    });
  }

  // --- availability: chosen in the header, kept alive by heartbeats (issue 15) ---------------
  // Heartbeats say the console is open; `active` says the agent used it since the last one, so
  // the API shows an idle agent away and a closed console offline, whatever worker answers.
  let usedSince = true;
  for (const name of ["keydown", "pointerdown", "wheel", "focusin"]) {
    document.addEventListener(name, () => { usedSince = true; }, { passive: true, capture: true });
  }
  let lastMove = 0;
  document.addEventListener("pointermove", () => {
    const now = Date.now();
    if (now - lastMove > 5000) { lastMove = now; usedSince = true; }
  }, { passive: true });

  function showPresence(me) {
    if (!me) return;
    $("presence").value = me.chosen;
    const dot = $("presence-dot");
    dot.className = `presence-dot ${me.status}`;
    $("presence-note").textContent = me.automatic
      ? (me.status === "away" ? "（长时间未操作，已自动显示为离开）" : `（当前显示为${PRESENCE_LABELS[me.status]}）`)
      : "";
  }

  async function heartbeat() {
    if (!auth || auth.mustChange) return;
    const active = usedSince;
    usedSince = false;
    try { showPresence(await api("POST", "/auth/heartbeat", { active })); } catch (error) { /* next beat */ }
  }

  function startPresence() {
    $("presence-box").hidden = false;
    clearInterval(heartbeatTimer);
    heartbeat();
    heartbeatTimer = setInterval(heartbeat, HEARTBEAT_MS);
    if (auth.role === "supervisor") {
      $("roster").hidden = false;
      refreshRoster();
      clearInterval(rosterTimer);
      rosterTimer = setInterval(refreshRoster, ROSTER_POLL_MS);
    }
  }

  $("presence").addEventListener("change", async () => {
    try { showPresence(await api("PUT", "/auth/presence", { status: $("presence").value })); }
    catch (error) { $("presence-note").textContent = `状态未能更新：${error.message}`; }
  });

  async function refreshRoster() {
    if (!auth || auth.role !== "supervisor") return;
    let data;
    try { data = await api("GET", "/auth/presence"); } catch (error) { $("roster-hours").textContent = error.message; return; }
    const hours = data.open_now
      ? `服务时间 ${data.opening_hours}（北京时间），当前在线客服 ${data.online_agents} 人`
      : `现在是非服务时间（${data.opening_hours}，北京时间），${chinaTime(data.next_opening)} 上班；在线客服 ${data.online_agents} 人`;
    $("roster-hours").textContent = hours;
    const list = $("roster-list");
    list.textContent = "";
    for (const p of data.items) {
      const item = el("li");
      item.appendChild(el("span", null, `${p.display_name}（${p.role === "supervisor" ? "主管" : "客服"}）`));
      const auto = p.automatic && p.status === "away" ? "（自动）" : "";
      item.appendChild(el("span", `state ${p.status}`, PRESENCE_LABELS[p.status] + auto));
      list.appendChild(item);
    }
  }

  // --- labels and canned replies, read once per login ----------------------------------------
  async function loadReferenceData() {
    try { labels = await api("GET", "/labels"); } catch (error) {
      labels = null;
      $("queue-count").textContent = `无法读取显示名称：${error.message}`;
    }
    try { canned = (await api("GET", "/canned-replies")).replies; } catch (error) {
      canned = [];
      $("reply-hint").textContent = `常用语暂不可用：${error.message}`;
    }
  }

  // The Chinese label of a code; the code itself only if the API has no label for it.
  function label(table, code) {
    const found = labels && labels[table] && labels[table][code];
    return found || (code === null || code === undefined ? "" : String(code));
  }

  function staffName(username) {
    return username ? label("staff", username) : "";
  }

  // "/affirm", '/inform{"complaint_request": "fix"}': what the pressed button meant, in Chinese.
  function pressedButton(text) {
    const raw = String(text || "").replace(/^\[按钮\]\s*/, "").trim();
    const match = PAYLOAD.exec(raw);
    if (!match) return null;
    let entities = {};
    try { entities = match[2] ? JSON.parse(match[2]) : {}; } catch (e) { entities = {}; }
    const values = Object.entries(entities).map(([key, value]) => valueText(key, value)).filter(Boolean);
    return values.length ? values.join("、") : label("intents", match[1]);
  }

  function valueText(key, value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "boolean") return value ? "是" : "否";
    if (Array.isArray(value)) return value.map((v) => valueText(key, v)).join("、");
    const text = String(value);
    if (key === "complaint_request") return text.split("/").map((code) => label("requests", code)).join("、");
    // Several items asked at once are stored "meeting,return_flight" (actions/reader.py).
    if (key === "itinerary_item") return text.split(",").map((code) => label("itinerary_items", code)).join("、");
    if (key === "correction_field") return label("fields", text);
    if (key === "channel") return label("channels", text);
    if (key === "last_message") { const pressed = pressedButton(text); return pressed ? `［按钮］${pressed}` : text; }
    return text;
  }

  // --- queue -------------------------------------------------------------------------------
  async function refreshQueue() {
    if (!auth) return;
    let queue;
    const shown = $("queue-filter").value;
    const path = shown === "open" ? "/handoffs" : `/handoffs?status=${encodeURIComponent(shown)}`;
    try { queue = await api("GET", path); } catch (error) { $("queue-count").textContent = error.message; return; }
    $("queue-count").textContent = `等待 ${queue.waiting} · 服务中 ${queue.active}`;
    const list = $("queue-list");
    // The list is rebuilt every poll: keep the keyboard focus on the item that had it.
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".queue-item");
    const focusedId = focused ? Number(focused.dataset.id) : null;
    list.textContent = "";
    for (const h of queue.items) {
      const item = el("li", `queue-item ${h.colour === "red" ? "red" : "yellow"}`);
      item.dataset.id = h.id;
      const button = el("button");
      button.type = "button";
      button.setAttribute("aria-pressed", String(h.id === selectedId));
      if (h.id === selectedId) item.classList.add("selected");
      const line1 = el("span", "line1");
      line1.appendChild(el("span", null, `${label("severities", h.severity)} · ${label("handoff_reasons", h.reason)}`));
      line1.appendChild(el("span", null, h.status === "waiting" ? `第 ${h.position} 位` : label("handoff_statuses", h.status)));
      button.appendChild(line1);
      const who = h.agent ? ` · 客服 ${staffName(h.agent)}` : "";
      button.appendChild(el("span", "line2", `已等待 ${minutes(h.waiting_seconds)} · ${label("channels", h.channel)}${h.ticket_no ? " · " + h.ticket_no : ""}${who}`));
      const preview = h.summary && (h.summary.complaint_description || valueText("last_message", h.summary.last_message));
      if (preview) button.appendChild(el("span", "line2", String(preview).slice(0, 60)));
      button.addEventListener("click", () => select(h.id));
      item.appendChild(button);
      list.appendChild(item);
      if (h.id === focusedId) button.focus();
      if (h.id === selectedId) { selected = h; showHeader(); }
    }
    if (!queue.items.length) list.appendChild(el("li", "muted", shown === "open" ? "暂无排队会话" : "没有这类会话"));
  }

  // --- one conversation --------------------------------------------------------------------
  async function select(id) {
    if (id !== selectedId) stopTyping(true);
    selectedId = id;
    transcriptKey = "";
    $("transcript").textContent = "";
    $("conv-error").textContent = "";
    $("conv-status").textContent = "";
    $("conv-typing").textContent = "";
    closeCanned();
    document.querySelectorAll(".queue-item").forEach((n) => {
      const on = Number(n.dataset.id) === id;
      n.classList.toggle("selected", on);
      const button = n.querySelector("button");
      if (button) button.setAttribute("aria-pressed", String(on));
    });
    try { selected = await api("GET", `/handoffs/${id}`); } catch (error) { $("conv-error").textContent = error.message; return; }
    $("conv-empty").hidden = true; $("conv").hidden = false;
    showHeader();
    showSummary();
    loadTicket();
    refreshTranscript();
    clearInterval(transcriptTimer);
    transcriptTimer = setInterval(refreshTranscript, TRANSCRIPT_POLL_MS);
  }

  function mine() {
    return selected && selected.status === "active" && selected.agent === auth.username;
  }

  function showHeader() {
    if (!selected) return;
    const badge = $("conv-badge");
    badge.className = `badge ${selected.colour === "red" ? "red" : "yellow"}`;
    badge.textContent = label("severities", selected.severity);
    $("conv-title").textContent = `会话 #${selected.id} · ${label("handoff_reasons", selected.reason)}`;
    const reply = selected.first_reply_wait_seconds !== null ? ` · 首次回复用时 ${minutes(selected.first_reply_wait_seconds)}` : "";
    const holder = selected.agent ? `（${staffName(selected.agent)}）` : "";
    $("conv-meta").textContent = `${label("handoff_statuses", selected.status)}${holder} · 渠道 ${label("channels", selected.channel)} · 已等待 ${minutes(selected.waiting_seconds)}${reply}`;
    const open = selected.status === "waiting" || selected.status === "active";
    $("take").hidden = selected.status !== "waiting";
    $("hand-back").hidden = !(open && (mine() || auth.role === "supervisor"));
    $("close").hidden = !(open && (mine() || auth.role === "supervisor"));
    $("reply-text").disabled = !mine();
    $("reply-send").disabled = !mine();
    $("note-send").disabled = !mine();
    $("canned-open").disabled = !mine();
    if (!mine()) closeCanned();
    $("reply-text").placeholder = mine() ? "输入回复，Enter 发送，Shift+Enter 换行"
      : open ? "接入会话后才能回复" : "会话已结束";
  }

  function showSummary() {
    const box = $("summary");
    box.textContent = "";
    const summary = selected.summary || {};
    const hidden = new Set((labels && labels.hidden_fields) || []);
    const known = labels ? Object.keys(labels.fields) : [];
    // The labelled fields in their order, then anything the bot added that has no label yet.
    const keys = known.filter((key) => key in summary)
      .concat(Object.keys(summary).filter((key) => !known.includes(key) && !hidden.has(key)));
    for (const key of keys) {
      const value = valueText(key, summary[key]);
      if (!value) continue;
      box.appendChild(el("dt", null, known.includes(key) ? label("fields", key) : "其他信息"));
      box.appendChild(el("dd", null, value));
    }
    box.hidden = !box.childElementCount;
    $("summary-empty").hidden = !box.hidden;
  }

  async function refreshTranscript() {
    if (!selectedId || !auth) return;
    const id = selectedId;
    let data;
    try {
      data = await api("GET", `/handoffs/${id}/transcript`);
    } catch (error) {
      // Polling problems go to the status line: an action's error (a refused take) stays visible.
      if (id === selectedId) $("conv-status").textContent = error.message;
      if (error.status === 403 && id === selectedId) clearInterval(transcriptTimer); // held by someone else
      return;
    }
    if (id !== selectedId) return;
    $("conv-status").textContent = "";
    // The traveller's cue (transient, from the widget through Rasa): every poll, lines or not.
    $("conv-typing").textContent = data.traveller_typing ? "对方正在输入…" : "";
    const key = JSON.stringify(data.lines.map((l) => [l.sender, l.text, l.at]));
    if (key === transcriptKey) return; // unchanged: keep the agent's scroll position
    transcriptKey = key;
    const box = $("transcript");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.textContent = "";
    if (!data.lines.length) box.appendChild(el("div", "muted", "暂无对话记录（旅客可能已离开，可直接结束会话）"));
    for (const line of data.lines) {
      const row = el("div", `line ${line.sender}`);
      const who = line.sender === "note" ? `内部备注（仅客服可见）· ${line.agent || ""}`
        : line.sender === "agent" && line.agent ? `客服 ${line.agent}` : label("senders", line.sender);
      row.appendChild(el("div", "who", `${who} · ${clock(line.at)}`));
      const pressed = line.sender === "traveller" ? pressedButton(line.text) : null;
      const text = el("div", "text");
      if (pressed) {
        text.appendChild(el("span", "pressed", "点击按钮"));
        text.appendChild(document.createTextNode(` ${pressed}`));
      } else {
        text.textContent = line.buttons && line.buttons.length ? `${line.text}\n[按钮：${line.buttons.join(" / ")}]` : line.text;
      }
      row.appendChild(text);
      box.appendChild(row);
    }
    if (atBottom || box.dataset.first !== String(id)) box.scrollTop = box.scrollHeight;
    box.dataset.first = String(id);
    if (selected && data.status !== selected.status) {
      selected = await api("GET", `/handoffs/${id}`);
      showHeader();
    }
  }

  async function act(path, body) {
    $("conv-error").textContent = "";
    try {
      selected = await api("POST", path, body);
      showHeader(); showSummary();
      refreshQueue(); refreshTranscript();
      return true;
    } catch (error) {
      $("conv-error").textContent = error.message;
      refreshQueue();
      return false;
    }
  }

  $("take").addEventListener("click", async () => {
    const id = selectedId;
    if (await act(`/handoffs/${id}/take`)) {
      clearInterval(transcriptTimer);
      transcriptTimer = setInterval(refreshTranscript, TRANSCRIPT_POLL_MS);
      $("reply-text").focus();
      return;
    }
    // Refused: say who has it, by name, and keep saying it (the polls write elsewhere).
    try {
      const now = await api("GET", `/handoffs/${id}`);
      if (id !== selectedId) return;
      selected = now;
      showHeader();
      if (now.status === "active" && now.agent && now.agent !== auth.username) {
        $("conv-error").textContent = `接入失败：该会话已由客服 ${staffName(now.agent)} 接入，不能重复接入。`;
      }
    } catch (error) { /* the API's own message stays */ }
  });
  $("hand-back").addEventListener("click", () => {
    if (confirm("确定把会话交还给机器人吗？")) act(`/handoffs/${selectedId}/return`, {});
  });
  $("close").addEventListener("click", () => {
    if (confirm("确定结束本次人工会话吗？")) act(`/handoffs/${selectedId}/close`, {});
  });

  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text || !mine()) return;
    $("reply-send").disabled = true;
    $("conv-error").textContent = "";
    stopTyping(false); // the message itself ends the cue in the widget
    try {
      await api("POST", `/handoffs/${selectedId}/messages`, { text });
      $("reply-text").value = "";
      selected = await api("GET", `/handoffs/${selectedId}`);
      showHeader();
      refreshTranscript();
    } catch (error) {
      $("conv-error").textContent = error.message;
    } finally {
      $("reply-send").disabled = !mine();
    }
  });

  // --- private notes: the reply box's text kept for agents only, never sent to the traveller ---
  $("note-send").addEventListener("click", async () => {
    const text = $("reply-text").value.trim();
    if (!text || !mine()) return;
    $("note-send").disabled = true;
    $("conv-error").textContent = "";
    stopTyping(true);
    try {
      await api("POST", `/handoffs/${selectedId}/notes`, { text });
      $("reply-text").value = "";
      $("conv-status").textContent = "内部备注已保存（旅客看不到）";
      refreshTranscript();
      $("reply-text").focus();
    } catch (error) {
      $("conv-error").textContent = error.message;
    } finally {
      $("note-send").disabled = !mine();
    }
  });

  // --- the agent's typing cue to the traveller (客服正在输入…), throttled --------------------
  let typingSentAt = 0, typingOn = false, typingIdle = null;
  function sendTyping(on) {
    if (!selectedId || !mine()) return;
    api("POST", `/handoffs/${selectedId}/typing`, { typing: on }).catch(() => { /* a cue is best effort */ });
  }
  function stopTyping(tell) {
    clearTimeout(typingIdle);
    if (typingOn && tell) sendTyping(false);
    typingOn = false;
  }
  $("reply-text").addEventListener("input", () => {
    if (!mine()) return;
    const text = $("reply-text").value.trim();
    // "/" opens the canned replies: choosing one is not typing to the traveller yet.
    if (!text || text.startsWith("/")) { stopTyping(true); return; }
    const now = Date.now();
    if (!typingOn || now - typingSentAt >= TYPING_REPEAT_MS) {
      sendTyping(true);
      typingSentAt = now;
      typingOn = true;
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(() => stopTyping(true), TYPING_IDLE_MS);
  });

  // --- canned replies: "/" in the reply box or Ctrl+/ opens a filterable list ------------------
  // The reply box keeps the focus; the list is its autocomplete (aria-activedescendant).
  let cannedShown = [];   // replies in the list now
  let cannedIndex = 0;    // the highlighted one
  let slashAt = -1;       // where the "/" that opened the list is in the text
  let dismissedSlash = -1; // Esc closed the list of this "/": do not reopen it while typing on

  function slashQuery() {
    const box = $("reply-text");
    const before = box.value.slice(0, box.selectionStart);
    const match = /(^|\s)\/([^\s/]*)$/.exec(before);
    if (!match) return null;
    return { at: before.length - match[2].length - 1, query: match[2].toLowerCase() };
  }

  function updateCanned() {
    const found = mine() ? slashQuery() : null;
    if (!found || found.at === dismissedSlash) { closeCanned(); return; }
    slashAt = found.at;
    const q = found.query;
    cannedShown = canned.filter((r) => !q || r.key.toLowerCase().startsWith(q) || r.title.toLowerCase().includes(q)
      || r.text.toLowerCase().includes(q));
    cannedIndex = Math.min(cannedIndex, Math.max(cannedShown.length - 1, 0));
    renderCanned();
  }

  function renderCanned() {
    const list = $("canned-list");
    list.textContent = "";
    cannedShown.forEach((reply, index) => {
      const option = el("li");
      option.id = `canned-${index}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", String(index === cannedIndex));
      option.dataset.key = reply.key;
      option.appendChild(el("span", "key", `/${reply.key}`));
      option.appendChild(el("span", "title", reply.title));
      option.appendChild(el("span", "preview", reply.text));
      // mousedown, not click: the reply box must not lose the focus.
      option.addEventListener("mousedown", (event) => { event.preventDefault(); insertCanned(reply); });
      list.appendChild(option);
    });
    if (!cannedShown.length) {
      const none = el("li", "none", canned.length ? "没有匹配的常用语" : "暂无常用语");
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      none.setAttribute("aria-selected", "false");
      list.appendChild(none);
    }
    list.hidden = false;
    const box = $("reply-text");
    if (cannedShown.length) {
      box.setAttribute("aria-activedescendant", `canned-${cannedIndex}`);
      list.setAttribute("aria-activedescendant", `canned-${cannedIndex}`);
      $(`canned-${cannedIndex}`).scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
      list.removeAttribute("aria-activedescendant");
    }
    $("canned-status").textContent = cannedShown.length
      ? `${cannedShown.length} 条常用语：${cannedShown[cannedIndex].title}` : "没有匹配的常用语";
  }

  function closeCanned() {
    const list = $("canned-list");
    if (!list) return;
    list.hidden = true;
    list.textContent = "";
    cannedShown = [];
    cannedIndex = 0;
    slashAt = -1;
    $("reply-text").removeAttribute("aria-activedescendant");
  }

  function cannedOpen() {
    return !$("canned-list").hidden;
  }

  function insertCanned(reply) {
    const box = $("reply-text");
    const end = box.selectionStart;
    const start = slashAt >= 0 ? slashAt : end;
    box.value = box.value.slice(0, start) + reply.text + box.value.slice(end);
    const caret = start + reply.text.length;
    box.setSelectionRange(caret, caret);
    closeCanned();
    dismissedSlash = -1;
    box.focus();
    $("canned-status").textContent = `已插入常用语：${reply.title}`;
  }

  // Ctrl+/ (and the 常用语 button): put a "/" at the caret, which opens the list.
  function openCannedByShortcut() {
    const box = $("reply-text");
    if (!mine()) return;
    box.focus();
    const at = box.selectionStart;
    const needsSpace = at > 0 && !/\s/.test(box.value[at - 1]);
    const insert = `${needsSpace ? " " : ""}/`;
    box.value = box.value.slice(0, at) + insert + box.value.slice(box.selectionEnd);
    box.setSelectionRange(at + insert.length, at + insert.length);
    dismissedSlash = -1;
    cannedIndex = 0;
    updateCanned();
  }

  $("canned-open").addEventListener("click", openCannedByShortcut);
  $("reply-text").addEventListener("input", () => {
    if (dismissedSlash >= 0 && !slashQuery()) dismissedSlash = -1;
    cannedIndex = 0;
    updateCanned();
  });
  $("reply-text").addEventListener("click", updateCanned);
  // The list can hold the focus too (Shift+Tab or a click: it scrolls); the keys work the same there.
  function leaveCanned() {
    setTimeout(() => {
      if (document.activeElement !== $("reply-text") && document.activeElement !== $("canned-list")) closeCanned();
    }, 0);
  }
  $("reply-text").addEventListener("blur", leaveCanned);
  $("canned-list").addEventListener("blur", leaveCanned);

  // Arrows, Enter/Tab and Esc while the list is open; true when the key was for the list.
  function cannedKey(event, fromList) {
    if (!cannedOpen()) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (cannedShown.length) {
        const step = event.key === "ArrowDown" ? 1 : -1;
        cannedIndex = (cannedIndex + step + cannedShown.length) % cannedShown.length;
        renderCanned();
      }
      return true;
    }
    const accept = event.key === "Enter" || (event.key === "Tab" && !fromList);
    if (accept && !event.shiftKey && !event.isComposing && cannedShown.length) {
      event.preventDefault();
      insertCanned(cannedShown[cannedIndex]);
      return true;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      dismissedSlash = slashAt;
      closeCanned();
      $("reply-text").focus();
      return true;
    }
    return false;
  }
  $("canned-list").addEventListener("keydown", (event) => { cannedKey(event, true); });

  $("reply-text").addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "/") {
      event.preventDefault();
      openCannedByShortcut();
      return;
    }
    if (cannedKey(event, false)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("reply-form").requestSubmit();
    }
  });

  // --- linked ticket -----------------------------------------------------------------------
  async function loadTicket() {
    const no = selected && (selected.ticket_no || null);
    $("ticket-msg").textContent = "";
    if (!no) { $("ticket").hidden = true; $("ticket-empty").hidden = false; return; }
    let t;
    try { t = await api("GET", `/tickets/${encodeURIComponent(no)}`); } catch (error) {
      $("ticket").hidden = true; $("ticket-empty").hidden = false; $("ticket-empty").textContent = error.message; return;
    }
    $("ticket-empty").hidden = true; $("ticket").hidden = false;
    const fields = $("ticket-fields");
    fields.textContent = "";
    const rows = [
      ["单号", t.ticket_no], ["状态", t.status_label], ["类别", t.category_label], ["严重程度", t.severity_label],
      ["责任部门", t.department_name], ["负责人", t.owner ? t.owner.display_name : "—"], ["旅客", `${t.name || ""} ${t.phone}`],
      ["订单号", t.booking_ref || "—"], ["描述", t.description],
      ["诉求", [t.request ? label("requests", t.request) : "", t.request_detail].filter(Boolean).join("：") || "—"],
    ];
    for (const [k, v] of rows) { fields.appendChild(el("dt", null, k)); fields.appendChild(el("dd", null, v)); }
    const notes = $("ticket-notes");
    notes.textContent = "";
    for (const n of t.notes || []) notes.appendChild(el("li", null, `${staffName(n.author)}：${n.text}`));
    const select = $("ticket-status");
    select.textContent = "";
    for (const move of t.next_statuses || []) {
      const option = el("option", null, label("ticket_statuses", move.status) + (move.ready ? "" : `（${missingText(move.code)}）`));
      option.value = move.status;
      select.appendChild(option);
    }
    $("ticket-transition").hidden = !select.options.length;
  }

  $("ticket-transition").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { status: $("ticket-status").value };
    const reason = $("ticket-reason").value.trim();
    if (reason) body.reason = reason;
    try {
      await api("POST", `/tickets/${encodeURIComponent(selected.ticket_no)}/transitions`, body);
      $("ticket-reason").value = "";
      await loadTicket();
      $("ticket-msg").textContent = "状态已更新";
    } catch (error) { $("ticket-msg").textContent = apiErrorText(error).text; }
  });

  $("ticket-note").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("ticket-note-text").value.trim();
    if (!text) return;
    try {
      await api("POST", `/tickets/${encodeURIComponent(selected.ticket_no)}/notes`, { text, public: $("ticket-note-public").checked });
      $("ticket-note-text").value = "";
      await loadTicket();
      $("ticket-msg").textContent = "已添加处理记录";
    } catch (error) { $("ticket-msg").textContent = apiErrorText(error).text; }
  });

  $("ticket-open").addEventListener("click", () => {
    if (selected && selected.ticket_no) openTicketPage(selected.ticket_no);
  });
  $("queue-filter").addEventListener("change", refreshQueue);

  // --- ticket workspace: list with filters, one ticket's page with every step's form ----------
  // The workflow lives in the API: the moves offered are GET /tickets/{no}'s next_statuses, and
  // every refusal is shown from its stable `code` (api/app/api/errors.py), never its English text.
  let currentView = "desk";
  let ticketNo = null;   // the ticket open on the page
  let ticket = null;     // as last read
  const CHINA = "Asia/Shanghai";
  // What each refusal means to an agent, and the field to fix.
  const CODE_TEXT = {
    satisfaction_required: ["请先在「回访」中记录旅客满意度（1–5 分），再标记为已回访", "tk-sat"],
    result_required: ["结案前请先保存书面处理结果（调查结果、处理措施及效果、致谢与致歉）", "tk-findings"],
    not_next_status: ["只能推进到下一步（或不予受理），请刷新后重试", "tk-next"],
    ticket_final: ["工单已结案或不予受理，不能再修改", null],
    reason_required: ["不予受理必须填写原因", "tk-next-text"],
    plan_required: ["制定处理方案必须写明方案内容", "tk-next-text"],
    expected_at_past: ["预计办结日期必须晚于现在", "tk-delay-date"],
    compensation_step: ["赔偿须按 登记 → 核实 → 拟定方案 → 旅客同意 → 支付 逐步记录", null],
    compensation_method_required: ["拟定赔偿方案须选择赔偿方式和损失类型", "tk-comp-method"],
    compensation_amount_fixed: ["旅客同意后赔偿金额不能再修改", "tk-comp-amount"],
    personal_number: ["请按单号、订单号或投诉内容搜索，不能按手机号、证件号等个人号码搜索", "tk-q"],
  };
  // The request fields of each form, for validation errors (422 loc) without a code.
  const FIELD_INPUT = {
    reason: ["原因", "tk-next-text"], plan: ["处理方案", "tk-next-text"], findings: ["调查结果", "tk-findings"], measures: ["处理措施及效果", "tk-measures"],
    apology: ["致谢与致歉", "tk-apology"], expected_at: ["预计办结日期", "tk-delay-date"],
    satisfaction: ["满意度", "tk-sat"], confirmed: ["旅客确认", "tk-confirmed"], method: ["赔偿方式", "tk-comp-method"],
    loss_type: ["损失类型", "tk-comp-loss"], amount_cny: ["金额", "tk-comp-amount"], text: ["内容", "tk-note-text"],
    q: ["搜索", "tk-q"], status: ["状态", "tk-next"],
  };
  const PROBLEM = {
    missing: "为必填项", string_too_short: "不能为空", string_too_long: "内容过长", value_error: "内容不符合要求",
    less_than_equal: "超出允许范围", greater_than_equal: "超出允许范围", int_parsing: "请填写整数",
    datetime_from_date_parsing: "日期格式不正确", datetime_parsing: "日期格式不正确", literal_error: "取值无效",
  };

  function missingText(code) {
    return code === "satisfaction_required" ? "需先记录满意度" : code === "result_required" ? "需先保存书面处理结果" : "条件未满足";
  }

  // {text, input}: the API's refusal in Chinese, and the input at fault (if any).
  function apiErrorText(error) {
    const detail = error.body && error.body.detail;
    const first = Array.isArray(detail) ? detail[0] : null;
    if (first && first.code && CODE_TEXT[first.code]) {
      return { text: CODE_TEXT[first.code][0], input: CODE_TEXT[first.code][1] };
    }
    if (first && first.loc) {
      const field = first.loc[first.loc.length - 1];
      const [name, input] = FIELD_INPUT[field] || ["输入", null];
      return { text: `${name}${PROBLEM[first.type] || "内容不符合要求"}`, input };
    }
    if (error.status === 403) return { text: "只有工单负责人或主管可以修改此工单", input: null };
    if (error.status === 404) return { text: "工单不存在", input: null };
    if (error.status === 409) return { text: "操作与工单当前状态冲突，请刷新后重试", input: null };
    if (error.status === 429) return { text: "操作过于频繁，请稍后再试", input: null };
    return { text: `操作失败，请稍后再试（${error.status || "网络错误"}）`, input: null };
  }

  function chinaDay(date) { return date.toLocaleDateString("sv-SE", { timeZone: CHINA }); } // YYYY-MM-DD
  function chinaTime(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleString("zh-CN", { timeZone: CHINA, hour12: false, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }
  // "overdue" (red), "today" (amber, due later today China time) or "" for a due date still open.
  function urgency(dueIso, done, now) {
    if (!dueIso || done) return "";
    const due = new Date(dueIso);
    if (due < now) return "overdue";
    return chinaDay(due) === chinaDay(now) ? "today" : "";
  }
  const URGENCY_TEXT = { overdue: "已超时", today: "今日到期" };

  function showView(view) {
    currentView = view;
    $("desk").hidden = view !== "desk";
    $("tickets-view").hidden = view !== "tickets";
    $("view-desk").setAttribute("aria-pressed", String(view === "desk"));
    $("view-tickets").setAttribute("aria-pressed", String(view === "tickets"));
  }
  $("view-desk").addEventListener("click", () => showView("desk"));
  $("view-tickets").addEventListener("click", () => { showView("tickets"); refreshTickets(); });

  function fillSelect(id, table, first) {
    const box = $(id);
    const keep = box.value;
    box.textContent = "";
    if (first !== null) { const o = el("option", null, first); o.value = ""; box.appendChild(o); }
    for (const [code, text] of Object.entries((labels && labels[table]) || {})) {
      const option = el("option", null, text);
      option.value = code;
      box.appendChild(option);
    }
    box.value = keep;
    if (box.selectedIndex < 0) box.selectedIndex = 0;
  }

  function fillTicketFilters() {
    fillSelect("tk-status", "ticket_statuses", "全部");
    fillSelect("tk-category", "categories", "全部");
    fillSelect("tk-severity", "severities", "全部");
    fillSelect("tk-comp-method", "compensation_methods", "（未选择）");
    fillSelect("tk-comp-loss", "loss_types", "（未选择）");
  }

  async function refreshTickets() {
    if (!auth) return;
    const params = new URLSearchParams({ limit: "100" });
    const scope = $("tk-scope").value;
    if (scope) params.set(scope, "true");
    for (const [id, name] of [["tk-status", "status"], ["tk-category", "category"], ["tk-severity", "severity"]]) {
      if ($(id).value) params.set(name, $(id).value);
    }
    if ($("tk-overdue").checked) params.set("overdue", "true");
    const q = $("tk-q").value.trim();
    if (q) params.set("q", q);
    $("tk-list-error").textContent = "";
    $("tk-q").removeAttribute("aria-invalid");
    let page;
    try { page = await api("GET", `/tickets?${params}`); } catch (error) {
      const problem = apiErrorText(error);
      $("tk-list-error").textContent = problem.text;
      if (problem.input === "tk-q") $("tk-q").setAttribute("aria-invalid", "true");
      return;
    }
    const now = new Date();
    const list = $("tk-list");
    list.textContent = "";
    $("tk-count").textContent = `共 ${page.total} 张工单${page.total > page.items.length ? `，显示最新 ${page.items.length} 张` : ""}`;
    for (const t of page.items) {
      const mark = t.overdue ? "overdue" : urgency(t.next_due_at, false, now);
      const item = el("li", `tk-item ${mark}`);
      item.dataset.no = t.ticket_no;
      const button = el("button");
      button.type = "button";
      button.setAttribute("aria-pressed", String(t.ticket_no === ticketNo));
      const line1 = el("span", "line1");
      line1.appendChild(el("span", null, t.ticket_no));
      line1.appendChild(el("span", null, label("ticket_statuses", t.status)));
      button.appendChild(line1);
      const owner = t.owner ? t.owner.display_name : "未分配";
      button.appendChild(el("span", "line2", `${label("severities", t.severity)} · ${label("categories", t.category)} · ${owner}${t.booking_ref ? " · " + t.booking_ref : ""}`));
      const due = t.next_due_at ? `下一时限 ${chinaTime(t.next_due_at)}` : "无待办时限";
      const flag = el("span", "line2");
      if (mark) flag.appendChild(el("strong", `flag ${mark}`, URGENCY_TEXT[mark]));
      flag.appendChild(document.createTextNode(`${mark ? " " : ""}${due}`));
      button.appendChild(flag);
      if (t.request_detail) button.appendChild(el("span", "line2", String(t.request_detail).slice(0, 60)));
      button.addEventListener("click", () => openTicket(t.ticket_no));
      item.appendChild(button);
      list.appendChild(item);
    }
    if (!page.items.length) list.appendChild(el("li", "muted", "没有符合条件的工单"));
  }

  $("tk-filters").addEventListener("submit", (event) => { event.preventDefault(); refreshTickets(); });
  for (const id of ["tk-scope", "tk-status", "tk-category", "tk-severity", "tk-overdue"]) {
    $(id).addEventListener("change", refreshTickets);
  }

  function openTicketPage(no) {
    showView("tickets");
    refreshTickets();
    openTicket(no);
  }

  async function openTicket(no) {
    ticketNo = no;
    document.querySelectorAll(".tk-item").forEach((n) => {
      const button = n.querySelector("button");
      if (button) button.setAttribute("aria-pressed", String(n.dataset.no === no));
    });
    $("tk-msg").textContent = "";
    try { ticket = await api("GET", `/tickets/${encodeURIComponent(no)}`); } catch (error) {
      $("tk-list-error").textContent = apiErrorText(error).text;
      return;
    }
    clearForms(true);
    renderTicket();
    $("tk-title").focus();
  }

  function mayChange() {
    return auth && ticket && (auth.role === "supervisor" || (ticket.owner && ticket.owner.username === auth.username));
  }

  function renderTicket() {
    const t = ticket;
    const now = new Date();
    $("tk-empty").hidden = true; $("tk-page").hidden = false;
    $("tk-title").textContent = `工单 ${t.ticket_no} · ${label("ticket_statuses", t.status)}`;
    const fields = $("tk-fields");
    fields.textContent = "";
    const comp = t.compensation;
    const rows = [
      ["严重程度", `${label("severities", t.severity)}（${t.authority_level} 级权限）`],
      ["类别", label("categories", t.category)], ["责任部门", label("departments", t.department) || t.department_name],
      ["负责人", t.owner ? t.owner.display_name : "未分配"], ["旅客", `${t.name || ""} ${t.phone}`.trim()],
      ["订单号", t.booking_ref || "—"], ["渠道", label("channels", t.channel)], ["会话", t.conversation_id || "—"],
      ["受理时间", chinaTime(t.received_at)], ["行程阶段", t.stage ? label("stages", t.stage) : "—"],
      ["发生时间", t.occurred_at || "—"], ["地点", t.location || "—"], ["情况描述", t.description],
      ["诉求", [t.request ? label("requests", t.request) : "", t.request_detail].filter(Boolean).join("：") || "—"],
      ["证据材料", (t.evidence || []).join("\n") || "—"], ["重复投诉", t.is_repeat ? "是" : "否"],
      ["预计办结", chinaTime(t.progress.expected_completion)],
      ["延期原因", t.progress.delay_reason || "—"],
      ["赔偿", comp ? [label("compensation_statuses", comp.status), label("compensation_methods", comp.method),
        label("loss_types", comp.loss_type), comp.amount_cny !== null && comp.amount_cny !== undefined ? `${comp.amount_cny} 元` : ""]
        .filter(Boolean).join(" · ") : "—"],
      ["满意度", t.satisfaction ? `${t.satisfaction} 分${t.second_follow_up ? "（需二次回访）" : ""}` : "—"],
      ["旅客确认结果", t.confirmed === null ? "—" : t.confirmed ? "已确认" : "未确认"],
    ];
    if (t.rejection_reason) rows.push(["不予受理原因", t.rejection_reason]);
    if (t.result) rows.push(["处理结果", [t.result.findings, t.result.measures, t.result.apology].filter(Boolean).join("\n")]);
    for (const [k, v] of rows) { fields.appendChild(el("dt", null, k)); fields.appendChild(el("dd", null, v)); }

    const body = $("tk-deadlines");
    body.textContent = "";
    for (const d of t.deadlines) {
      const mark = urgency(d.due_at, d.done_at, now);
      const row = el("tr", mark);
      row.appendChild(el("th", null, d.label || label("deadlines", d.name))).setAttribute("scope", "row");
      row.appendChild(el("td", null, chinaTime(d.due_at)));
      row.appendChild(el("td", null, d.done_at ? chinaTime(d.done_at) : "—"));
      const state = el("td");
      if (mark) state.appendChild(el("strong", `flag ${mark}`, URGENCY_TEXT[mark]));
      else state.textContent = label("deadline_states", d.state);
      row.appendChild(state);
      body.appendChild(row);
    }

    const notes = $("tk-notes");
    notes.textContent = "";
    for (const n of t.notes) {
      const item = el("li");
      item.appendChild(el("span", `tag ${n.public ? "public" : ""}`, n.public ? "旅客可见" : "内部"));
      item.appendChild(document.createTextNode(` ${staffName(n.author) || n.author} · ${chinaTime(n.created_at)}：${n.text}`));
      notes.appendChild(item);
    }
    if (!t.notes.length) notes.appendChild(el("li", "muted", "暂无处理记录"));

    const history = $("tk-history");
    history.textContent = "";
    for (const h of t.history || []) history.appendChild(el("li", null, `${chinaTime(h.at)} ${staffName(h.actor) || h.actor}：${historyText(h)}`));

    const open = t.next_statuses.length > 0;
    $("tk-readonly").hidden = mayChange();
    $("tk-forms").hidden = !mayChange() || !open;
    const next = $("tk-next");
    const keep = next.value;
    next.textContent = "";
    for (const move of t.next_statuses) {
      const option = el("option", null, label("ticket_statuses", move.status) + (move.ready ? "" : `（${missingText(move.code)}）`));
      option.value = move.status;
      next.appendChild(option);
    }
    if ([...next.options].some((o) => o.value === keep)) next.value = keep;
    nextChanged();
    if (t.result) { $("tk-findings").value = t.result.findings || ""; $("tk-measures").value = t.result.measures || ""; $("tk-apology").value = t.result.apology || ""; }
    renderCompensation();
    if (t.satisfaction) document.querySelector(`input[name=tk-sat][value="${t.satisfaction}"]`).checked = true;
    $("tk-confirmed").checked = Boolean(t.confirmed);
  }

  // Action words of the audit log; values are codes shown with their labels.
  const HISTORY_ACTIONS = {
    create: "创建工单", assign: "指派负责人", transition: "变更状态", note: "添加处理记录", result: "填写处理结果", feedback: "记录回访",
    delay: "说明延期", compensation: "记录赔偿", first_response: "首次响应", escalate: "升级处理权限",
  };
  function historyValue(field, value) {
    if (value === null || value === undefined) return "";
    if (field === "status") return label("ticket_statuses", value);
    if (field === "owner") return staffName(value);
    if (field === "compensation_status") return label("compensation_statuses", value);
    if (field === "compensation_method") return label("compensation_methods", value);
    if (field === "compensation_loss_type") return label("loss_types", value);
    if (field === "expected_completion_at" || field === "first_response_at") return chinaTime(value);
    if (value === "True" || value === "true") return "是";
    if (value === "False" || value === "false") return "否";
    return value;
  }
  function historyText(h) {
    const action = HISTORY_ACTIONS[h.action] || "修改";
    if (h.field === "note" || h.field === "public_note") return h.field === "note" ? "添加内部处理记录" : "添加旅客可见的处理记录";
    const from = historyValue(h.field, h.old), to = historyValue(h.field, h.new);
    if (!to) return action;
    return from ? `${action}：${from} → ${to}` : `${action}：${to}`;
  }

  // What the next status needs written with it: a plan, the measures, or a reason.
  const NEXT_TEXT = {
    plan_made: ["处理方案（内部记录）", false, "处理方案："],
    resolved: ["已落实的措施（旅客可见）", true, "已落实措施："],
    rejected: ["不予受理原因（必填）", null, ""],
  };
  function nextChanged() {
    const status = $("tk-next").value;
    const need = NEXT_TEXT[status];
    $("tk-next-text-label").hidden = !need;
    if (need) $("tk-next-text-name").textContent = need[0];
    const move = ticket && ticket.next_statuses.find((m) => m.status === status);
    $("tk-next-hint").textContent = move && !move.ready ? `提示：${CODE_TEXT[move.code] ? CODE_TEXT[move.code][0] : missingText(move.code)}` : "";
  }
  $("tk-next").addEventListener("change", nextChanged);

  function renderCompensation() {
    const current = ticket.compensation ? ticket.compensation.status : null;
    const nextStep = ticket.next_compensation_status || null; // the API's workflow says which
    $("tk-comp-now").textContent = current ? `当前：${label("compensation_statuses", current)}` : "尚未登记赔偿";
    $("tk-comp").dataset.next = nextStep || "";
    $("tk-comp-submit").textContent = nextStep ? `记录：${label("compensation_statuses", nextStep)}` : "赔偿已支付";
    $("tk-comp-submit").disabled = !nextStep;
    if (ticket.compensation) {
      $("tk-comp-method").value = ticket.compensation.method || "";
      $("tk-comp-loss").value = ticket.compensation.loss_type || "";
      if (ticket.compensation.amount_cny !== null && ticket.compensation.amount_cny !== undefined) $("tk-comp-amount").value = ticket.compensation.amount_cny;
    }
  }

  function clearForms(all) {
    document.querySelectorAll(".tk-form .error").forEach((n) => { n.textContent = ""; });
    document.querySelectorAll(".tk-form [aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
    if (all) {
      for (const id of ["tk-next-text", "tk-note-text", "tk-findings", "tk-measures", "tk-apology", "tk-delay-reason", "tk-delay-date", "tk-comp-amount"]) $(id).value = "";
      $("tk-comp-method").value = ""; $("tk-comp-loss").value = "";
      $("tk-note-public").checked = false; $("tk-confirmed").checked = false;
      document.querySelectorAll("input[name=tk-sat]").forEach((n) => { n.checked = false; });
    }
  }

  function showFormError(form, problem) {
    form.querySelector(".error").textContent = problem.text;
    const input = problem.input && $(problem.input);
    if (!input) return;
    // The fix may be in another form (已回访 needs the satisfaction): say it there too, where the focus goes.
    const home = input.closest("form");
    if (home && home !== form) home.querySelector(".error").textContent = problem.text;
    input.setAttribute("aria-invalid", "true");
    const target = input.tagName === "FIELDSET" ? input.querySelector("input") : input;
    target.focus();
  }

  // Send one form: its requests in order, then show the ticket as the last answer has it.
  async function submitTicketForm(form, steps, done) {
    clearForms(false);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      let out = null;
      for (const [method, path, body] of steps) out = await api(method, `/tickets/${encodeURIComponent(ticketNo)}${path}`, body);
      ticket = out;
      renderTicket();
      $("tk-msg").textContent = done;
      refreshTickets();
      return true;
    } catch (error) {
      if (!auth) return false;
      showFormError(form, apiErrorText(error));
      return false;
    } finally {
      button.disabled = false;
      if (form.id === "tk-comp") renderCompensation();
    }
  }

  function required(form, id, name) {
    if ($(id).value.trim()) return true;
    showFormError(form, { text: `请填写${name}`, input: id });
    return false;
  }

  $("tk-advance").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    clearForms(false);
    const status = $("tk-next").value;
    if (!status) return;
    const need = NEXT_TEXT[status];
    const text = $("tk-next-text").value.trim();
    if (need && !required(form, "tk-next-text", need[0].replace(/（.*）/, ""))) return;
    const steps = [];
    // The plan travels with its move (the API keeps it as an internal note and refuses the move
    // without it); the measures are a public note written before the move.
    if (need && need[1] !== null && status !== "plan_made") steps.push(["POST", "/notes", { text: need[2] + text, public: need[1] }]);
    const move = status === "rejected" ? { status, reason: text } : status === "plan_made" ? { status, plan: text } : { status };
    steps.push(["POST", "/transitions", move]);
    if (await submitTicketForm(form, steps, `状态已更新为：${label("ticket_statuses", status)}`)) $("tk-next-text").value = "";
  });

  $("tk-note").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    clearForms(false);
    if (!required(form, "tk-note-text", "处理记录内容")) return;
    const body = { text: $("tk-note-text").value.trim(), public: $("tk-note-public").checked };
    if (await submitTicketForm(form, [["POST", "/notes", body]], body.public ? "已添加旅客可见的处理记录" : "已添加内部处理记录")) {
      $("tk-note-text").value = ""; $("tk-note-public").checked = false;
    }
  });

  $("tk-result").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    clearForms(false);
    for (const [id, name] of [["tk-findings", "调查结果"], ["tk-measures", "处理措施及效果"], ["tk-apology", "致谢与致歉"]]) {
      if (!required(form, id, name)) return;
    }
    submitTicketForm(form, [["PUT", "/result", {
      findings: $("tk-findings").value.trim(), measures: $("tk-measures").value.trim(), apology: $("tk-apology").value.trim(),
    }]], "处理结果已保存");
  });

  $("tk-delay").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    clearForms(false);
    if (!required(form, "tk-delay-reason", "原因") || !required(form, "tk-delay-date", "预计办结日期")) return;
    // The end of that working day in China (18:00 +08:00), like the API's deadlines.
    const body = { reason: $("tk-delay-reason").value.trim(), expected_at: `${$("tk-delay-date").value}T18:00:00+08:00` };
    if (await submitTicketForm(form, [["PUT", "/delay", body]], "延期说明已保存")) $("tk-delay-reason").value = "";
  });

  $("tk-comp").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const next = form.dataset.next;
    if (!next) return;
    const body = { status: next };
    if ($("tk-comp-method").value) body.method = $("tk-comp-method").value;
    if ($("tk-comp-loss").value) body.loss_type = $("tk-comp-loss").value;
    const amount = $("tk-comp-amount").value.trim();
    if (amount) body.amount_cny = Number(amount);
    submitTicketForm(form, [["PUT", "/compensation", body]], `赔偿已记录：${label("compensation_statuses", next)}`);
  });

  $("tk-feedback").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    clearForms(false);
    const chosen = document.querySelector("input[name=tk-sat]:checked");
    if (!chosen) { showFormError(form, { text: "请选择旅客满意度（1–5 分）", input: "tk-sat" }); return; }
    submitTicketForm(form, [["PATCH", "/feedback", { satisfaction: Number(chosen.value), confirmed: $("tk-confirmed").checked }]],
      "回访结果已保存");
  });

  if (auth) start();
})();

// --- alerts and the daily digest (issue 16 item 3) ---------------------------------------------
// Its own block: the scheduled jobs write alerts (deadline due within 4 working hours, overdue,
// the digest) for one person; this polls GET /alerts for the logged-in person, shows the unread
// count on the header button and the list in a panel; supervisors also see GET /digest.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const POLL_MS = 15000;
  const KINDS = { due_soon: "即将到期", overdue: "已超时", digest: "每日简报" };
  let departments = null;

  function auth() {
    try {
      const value = JSON.parse(sessionStorage.getItem("console.auth") || "null");
      return value && !value.mustChange ? value : null;
    } catch (e) { return null; }
  }

  async function call(method, path) {
    const me = auth();
    if (!me) throw new Error("not logged in");
    const response = await fetch(path, { method, headers: { Authorization: `Bearer ${me.token}` } });
    if (!response.ok) { const error = new Error(`请求失败（${response.status}）`); error.status = response.status; throw error; }
    return response.status === 204 ? null : response.json();
  }

  function chinaTime(iso) {
    return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function item(alert) {
    const li = document.createElement("li");
    li.className = `${alert.kind}${alert.read ? "" : " unread"}`;
    const kind = document.createElement("span");
    kind.className = "alert-kind";
    kind.textContent = KINDS[alert.kind] || alert.kind;
    const text = document.createElement("span");
    text.className = "alert-text";
    text.textContent = alert.text; // textContent: never markup
    const time = document.createElement("span");
    time.className = "alert-time";
    time.textContent = chinaTime(alert.created_at);
    li.append(kind, text, time);
    if (!alert.read) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "标为已读";
      button.setAttribute("aria-label", `标为已读：${alert.text}`);
      button.addEventListener("click", async () => {
        try { await call("POST", `/alerts/${alert.id}/read`); } catch (e) { /* the next poll shows it again */ }
        refresh();
      });
      li.appendChild(button);
    }
    return li;
  }

  async function refreshDigest(me) {
    $("digest-box").hidden = me.role !== "supervisor";
    if (me.role !== "supervisor") return;
    if (!departments) {
      try { departments = (await call("GET", "/labels")).departments || {}; } catch (e) { departments = {}; }
    }
    let digest;
    try { digest = await call("GET", "/digest"); } catch (error) {
      $("digest-meta").textContent = error.status === 404 ? "今日简报尚未生成。" : error.message;
      $("digest-rows").textContent = "";
      return;
    }
    $("digest-meta").textContent = `${digest.day} 生成（新投诉与低分评价统计 ${digest.covers} 全天，北京时间）`;
    const rows = $("digest-rows");
    rows.textContent = "";
    const add = (name, f) => {
      const tr = document.createElement("tr");
      for (const value of [name, f.new, f.overdue, f.due_today, f.low_ratings]) {
        const td = document.createElement("td");
        td.textContent = String(value);
        tr.appendChild(td);
      }
      rows.appendChild(tr);
    };
    for (const [code, figures] of Object.entries(digest.by_department)) add(departments[code] || code, figures);
    add("合计", digest.totals);
  }

  async function refresh() {
    const me = auth();
    $("alerts-toggle").hidden = !me;
    if (!me) { $("alerts-panel").hidden = true; return; }
    let page;
    try { page = await call("GET", "/alerts"); } catch (error) {
      $("alerts-error").textContent = `提醒加载失败：${error.message}`;
      return;
    }
    $("alerts-error").textContent = "";
    const badge = $("alerts-badge");
    badge.hidden = page.unread === 0;
    badge.textContent = String(page.unread);
    $("alerts-toggle").setAttribute("aria-label", `提醒，${page.unread} 条未读`);
    const list = $("alerts-list");
    list.textContent = "";
    for (const alert of page.items) list.appendChild(item(alert));
    if (!page.items.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "暂无提醒";
      list.appendChild(empty);
    }
    if (!$("alerts-panel").hidden) refreshDigest(me);
  }

  $("alerts-toggle").addEventListener("click", () => {
    const open = $("alerts-panel").hidden;
    $("alerts-panel").hidden = !open;
    $("alerts-toggle").setAttribute("aria-expanded", String(open));
    refresh();
  });
  // Logging in or out happens in the console's own block: follow it.
  for (const id of ["login-form", "password-form"]) {
    $(id).addEventListener("submit", () => setTimeout(refresh, 1500));
  }
  $("logout").addEventListener("click", () => setTimeout(refresh, 0));
  refresh();
  setInterval(refresh, POLL_MS);
})();

// --- disruption notices (issue 16 item 4) ----------------------------------------------------
// Its own block, for supervisors: pick a departure (GET /disruptions/departures), write the
// notice (POST /disruptions), follow its delivery per recipient (masked), send it to travellers
// who verified since, record the in-trip alternative and read the travellers' replies.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const CHINA = "Asia/Shanghai";
  const STATUS = { pending: "待发送", sending: "发送中", sent: "已送达", failed: "发送失败", skipped: "未发送" };
  const ROUTE = {
    "rasa:socketio": "网页在线推送", "rasa:wechat": "微信客服消息", wechat_template: "微信模板消息",
    tracker: "存入会话记录", "rasa:already": "已在会话中",
  };
  const ALT = { due: "待提供", met: "已按时提供", breached: "已超时" };
  const ERRORS = {
    unknown_departure: "该团期没有订单", departure_over: "该团期已结束",
    not_in_trip: "该团期出发前发送，无需替代方案时限", alternative_recorded: "替代方案已记录过",
  };
  let selectedId = null;
  let departures = [];

  function me() {
    try {
      const value = JSON.parse(sessionStorage.getItem("console.auth") || "null");
      return value && !value.mustChange ? value : null;
    } catch (e) { return null; }
  }

  async function call(method, path, body) {
    const who = me();
    if (!who) throw new Error("未登录");
    const headers = { Authorization: `Bearer ${who.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const first = data && Array.isArray(data.detail) ? data.detail[0] : null;
      const text = first && ERRORS[first.code] ? ERRORS[first.code]
        : response.status === 422 ? "请填写通知内容（不超过 2000 字）"
        : response.status === 403 ? "只有主管可以发送出行变更通知" : `请求失败（${response.status}）`;
      const error = new Error(text);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text); // never markup
    return node;
  }
  function time(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleString("zh-CN", { timeZone: CHINA, hour12: false, month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit" });
  }
  function departureName(d) { return `${d.product}（${d.departure_date} 出发）`; }

  // --- the view beside the console's two (its buttons are the console block's) -------------
  function show(open) {
    $("disruptions-view").hidden = !open;
    $("view-disruptions").setAttribute("aria-pressed", String(open));
    if (open) {
      $("desk").hidden = true;
      $("tickets-view").hidden = true;
      $("view-desk").setAttribute("aria-pressed", "false");
      $("view-tickets").setAttribute("aria-pressed", "false");
      refresh();
    }
  }
  $("view-disruptions").addEventListener("click", () => show(true));
  for (const id of ["view-desk", "view-tickets"]) $(id).addEventListener("click", () => show(false));

  function follow() {
    const who = me();
    const supervisor = Boolean(who && who.role === "supervisor");
    $("view-disruptions").hidden = !supervisor;
    if (!supervisor) { $("disruptions-view").hidden = true; $("view-disruptions").setAttribute("aria-pressed", "false"); }
  }
  for (const id of ["login-form", "password-form"]) $(id).addEventListener("submit", () => setTimeout(follow, 1500));
  $("logout").addEventListener("click", () => setTimeout(follow, 0));

  // --- departures and the form ---------------------------------------------------------------
  async function loadDepartures() {
    const box = $("dr-departure");
    const keep = box.value;
    departures = await call("GET", "/disruptions/departures");
    box.textContent = "";
    box.appendChild(el("option", null, "（请选择团期）")).value = "";
    departures.forEach((d, i) => {
      const label = `${departureName(d)} · ${d.bookings} 个订单 · 可通知 ${d.contacts} 个会话${d.under_way ? " · 行程中" : ""}`;
      const option = el("option", null, label);
      option.value = String(i);
      box.appendChild(option);
    });
    if (keep && Number(keep) < departures.length) box.value = keep;
    hint();
  }
  function hint() {
    const d = departures[Number($("dr-departure").value)];
    $("dr-departure-hint").textContent = !$("dr-departure").value || !d ? ""
      : d.contacts === 0 ? "该团期暂无与智能助手验证过订单的旅客，通知将在旅客验证后通过“发送给之后验证订单的旅客”补发。"
      : d.under_way ? "团期正在进行中：发送后需在 1 小时内提供替代方案。" : `将发送给 ${d.contacts} 个会话。`;
  }
  $("dr-departure").addEventListener("change", hint);

  $("dr-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("dr-form-error");
    error.textContent = ""; $("dr-form-msg").textContent = "";
    $("dr-departure").removeAttribute("aria-invalid"); $("dr-text").removeAttribute("aria-invalid");
    const d = departures[Number($("dr-departure").value)];
    const text = $("dr-text").value.trim();
    if (!$("dr-departure").value || !d) {
      error.textContent = "请选择团期"; $("dr-departure").setAttribute("aria-invalid", "true"); $("dr-departure").focus(); return;
    }
    if (!text) { error.textContent = "请填写通知内容"; $("dr-text").setAttribute("aria-invalid", "true"); $("dr-text").focus(); return; }
    $("dr-send").disabled = true; // one click, one notice (the API also ignores a repeat)
    try {
      const created = await call("POST", "/disruptions", { product: d.product, departure_date: d.departure_date, text });
      $("dr-form-msg").textContent = `已发送给 ${created.recipients_total} 个会话`;
      $("dr-text").value = "";
      selectedId = created.id;
      await refresh();
    } catch (e) {
      error.textContent = e.message;
    } finally {
      $("dr-send").disabled = false;
    }
  });

  // --- the list and one disruption -----------------------------------------------------------
  async function loadList() {
    const list = $("dr-list");
    let items;
    try { items = await call("GET", "/disruptions"); } catch (e) { $("dr-list-error").textContent = e.message; return; }
    $("dr-list-error").textContent = "";
    list.textContent = "";
    if (!items.length) list.appendChild(el("li", "muted", "暂无通知"));
    for (const d of items) {
      const state = d.alternative ? d.alternative.state : "";
      const item = el("li", `tk-item${state === "breached" ? " overdue" : state === "due" ? " today" : ""}`);
      const button = el("button");
      button.type = "button";
      button.setAttribute("aria-pressed", String(d.id === selectedId));
      const line1 = el("span", "line1");
      line1.append(el("span", null, departureName(d)), el("span", null, time(d.created_at)));
      const parts = [`送达 ${d.delivered}/${d.recipients_total}`];
      if (d.pending) parts.push(`待发送 ${d.pending}`);
      if (d.failed) parts.push(`失败 ${d.failed}`);
      if (d.alternative) parts.push(`替代方案：${ALT[state]}`);
      button.append(line1, el("span", "line2", parts.join(" · ")));
      button.addEventListener("click", () => { selectedId = d.id; loadList(); loadOne(true); });
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  async function loadOne(focus) {
    if (!selectedId) { $("dr-page").hidden = true; $("dr-empty").hidden = false; return; }
    let d;
    try { d = await call("GET", `/disruptions/${selectedId}`); } catch (e) { $("dr-msg").textContent = e.message; return; }
    $("dr-empty").hidden = true; $("dr-page").hidden = false;
    $("dr-title").textContent = departureName(d);
    $("dr-meta").textContent = `${d.created_by} 于 ${time(d.created_at)} 发送 · 返回日期 ${d.return_date}${d.in_trip ? " · 发送时团期正在进行中" : ""}`;
    $("dr-body").textContent = d.text;
    $("dr-alt").hidden = !d.alternative;
    if (d.alternative) {
      const a = d.alternative;
      const state = $("dr-alt-state");
      state.textContent = "";
      state.append(el("span", `dr-state ${a.state}`, ALT[a.state]), el("span", null, ` · 截止 ${time(a.due_at)}`));
      if (a.offered_at) state.append(el("span", null, ` · ${a.offered_by} 于 ${time(a.offered_at)} 记录：${a.note}`));
      $("dr-alt-form").hidden = Boolean(a.offered_at);
    }
    const rows = $("dr-recipients");
    rows.textContent = "";
    for (const r of d.recipients) {
      const tr = el("tr", r.status === "failed" || r.status === "skipped" ? "overdue" : r.status === "sent" ? "" : "today");
      for (const value of [r.booking_ref, r.traveller, r.conversation, STATUS[r.status] || r.status,
        ROUTE[r.route] || r.route || "—", time(r.sent_at)]) tr.appendChild(el("td", null, value));
      if (r.last_error && r.status !== "sent") tr.title = r.last_error;
      rows.appendChild(tr);
    }
    if (!d.recipients.length) {
      const tr = el("tr");
      const td = el("td", "muted", "暂无收件旅客（该团期还没有旅客与智能助手验证过订单）");
      td.colSpan = 6;
      tr.appendChild(td);
      rows.appendChild(tr);
    }
    if (focus) $("dr-title").focus();
  }

  $("dr-resend").addEventListener("click", async () => {
    try {
      const d = await call("POST", `/disruptions/${selectedId}/send`);
      $("dr-msg").textContent = d.added ? `已补发给 ${d.added} 个新会话` : "没有新验证订单的旅客";
    } catch (e) { $("dr-msg").textContent = e.message; }
    await loadOne(false); loadList();
  });

  $("dr-alt-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("dr-alt-form").querySelector(".error");
    const note = $("dr-alt-note").value.trim();
    error.textContent = "";
    if (!note) { error.textContent = "请填写已提供的替代方案"; $("dr-alt-note").setAttribute("aria-invalid", "true"); $("dr-alt-note").focus(); return; }
    $("dr-alt-note").removeAttribute("aria-invalid");
    try {
      await call("POST", `/disruptions/${selectedId}/alternative`, { note });
      $("dr-alt-note").value = "";
      $("dr-msg").textContent = "已记录替代方案";
    } catch (e) { error.textContent = e.message; }
    await loadOne(false); loadList();
  });

  $("dr-replies-load").addEventListener("click", async () => {
    const list = $("dr-replies");
    $("dr-replies-error").textContent = "";
    let page;
    try { page = await call("GET", `/disruptions/${selectedId}/replies`); } catch (e) { $("dr-replies-error").textContent = e.message; return; }
    list.textContent = "";
    let count = 0;
    for (const r of page.recipients) {
      if (r.error) { list.appendChild(el("li", "error", `${r.booking_ref}（${r.conversation}）：${r.error}`)); continue; }
      for (const reply of r.replies) {
        list.appendChild(el("li", null, `${time(reply.at)} ${r.booking_ref}（${r.conversation}）：${reply.text}`));
        count += 1;
      }
    }
    if (!count && !list.children.length) list.appendChild(el("li", "muted", "暂无旅客回复"));
  });

  async function refresh() {
    if ($("disruptions-view").hidden) return;
    try { await loadDepartures(); } catch (e) { $("dr-form-error").textContent = e.message; }
    await loadList();
    await loadOne(false);
  }

  follow();
})();
