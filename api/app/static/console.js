// Agent console: queue, take, live transcript, reply, linked ticket, hand back / close.
// All data from the API is inserted with textContent (never innerHTML): travellers' text may
// contain HTML or script and must show as text.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const QUEUE_POLL_MS = 2000;
  const TRANSCRIPT_POLL_MS = 1000; // the traveller's messages show within 2 s
  // Workflow, not wording: which moves the ticket form offers (the API checks them again).
  const NEXT_STATUS = {
    received: ["investigating", "rejected"], investigating: ["plan_made", "rejected"], plan_made: ["resolved"],
    resolved: ["followed_up"], followed_up: ["closed"], closed: [], rejected: [],
  };
  const PAYLOAD = /^\/(\w+)(\{.*\})?$/s; // a button the traveller pressed: /intent{"entity": "value"}

  // Every Chinese label comes from GET /labels, read once after login (api/app/api/routes/labels.py).
  let labels = null;
  let auth = null;
  try { auth = JSON.parse(sessionStorage.getItem("console.auth") || "null"); } catch (e) { auth = null; }
  let canned = []; // GET /canned-replies: [{key, title, text}]
  let selectedId = null;
  let selected = null; // the selected handoff as last read
  let transcriptKey = "";
  let queueTimer = null, transcriptTimer = null;

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
    if (auth) headers.Authorization = `Bearer ${auth.token}`;
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 401 && auth) { logout("登录已过期，请重新登录"); }
    if (response.status === 403 && auth && !auth.mustChange && data && data.detail && data.detail.field === "password") {
      // The account still has its initial password: nothing but changing it is allowed.
      auth.mustChange = true;
      sessionStorage.setItem("console.auth", JSON.stringify(auth));
      start();
    }
    if (!response.ok) {
      const error = new Error(detailText(data, response.status));
      error.status = response.status;
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
    clearInterval(queueTimer); clearInterval(transcriptTimer);
    $("desk").hidden = true; $("password-view").hidden = true; $("login-view").hidden = false; $("logout").hidden = true;
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
    $("login-view").hidden = true; $("password-view").hidden = true; $("desk").hidden = false;
    clearInterval(queueTimer);
    loadReferenceData().then(() => {
      if (!auth || auth.mustChange) return;
      refreshQueue();
      clearInterval(queueTimer);
      queueTimer = setInterval(refreshQueue, QUEUE_POLL_MS);
    });
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
    if (key === "itinerary_item") return label("itinerary_items", text);
    if (key === "correction_field") return label("fields", text);
    if (key === "channel") return label("channels", text);
    if (key === "last_message") { const pressed = pressedButton(text); return pressed ? `［按钮］${pressed}` : text; }
    return text;
  }

  // --- queue -------------------------------------------------------------------------------
  async function refreshQueue() {
    if (!auth) return;
    let queue;
    try { queue = await api("GET", "/handoffs"); } catch (error) { $("queue-count").textContent = error.message; return; }
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
    if (!queue.items.length) list.appendChild(el("li", "muted", "暂无排队会话"));
  }

  // --- one conversation --------------------------------------------------------------------
  async function select(id) {
    selectedId = id;
    transcriptKey = "";
    $("transcript").textContent = "";
    $("conv-error").textContent = "";
    $("conv-status").textContent = "";
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
    const key = JSON.stringify(data.lines.map((l) => [l.sender, l.text, l.at]));
    if (key === transcriptKey) return; // unchanged: keep the agent's scroll position
    transcriptKey = key;
    const box = $("transcript");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.textContent = "";
    if (!data.lines.length) box.appendChild(el("div", "muted", "暂无对话记录（旅客可能已离开，可直接结束会话）"));
    for (const line of data.lines) {
      const row = el("div", `line ${line.sender}`);
      const who = line.sender === "agent" && line.agent ? `客服 ${line.agent}` : label("senders", line.sender);
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
    for (const s of NEXT_STATUS[t.status] || []) {
      const option = el("option", null, label("ticket_statuses", s));
      option.value = s;
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
    } catch (error) { $("ticket-msg").textContent = error.message; }
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
    } catch (error) { $("ticket-msg").textContent = error.message; }
  });

  if (auth) start();
})();
