// Agent console: queue, take, live transcript, reply, linked ticket, hand back / close.
// All data from the API is inserted with textContent (never innerHTML): travellers' text may
// contain HTML or script and must show as text.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const QUEUE_POLL_MS = 2000;
  const TRANSCRIPT_POLL_MS = 1000; // the traveller's messages show within 2 s
  const SEVERITY = { urgent: "紧急", major: "重大", general: "一般" };
  const REASON = {
    request_human: "旅客要求人工", urgent_complaint: "紧急投诉", fallback: "机器人两次未理解", form_failures: "多次填写失败",
    emergency: "紧急求助（人身安全）", cancellation_request: "申请取消行程",
  };
  const STATUS = { waiting: "等待接入", active: "服务中", closed: "已结束", returned: "已交还机器人" };
  const SENDER = { traveller: "旅客", bot: "机器人", agent: "客服", system: "系统" };
  const SUMMARY_LABELS = {
    booking_ref: "订单号", verified_booking: "已核验订单", phone: "手机号", phone_last4: "手机尾号",
    ticket_no: "投诉单号", complaint_description: "投诉描述", complaint_consent: "同意记录手机号",
    itinerary_item: "查询内容", day_number: "第几天", form_failures: "填写失败次数", last_message: "最后一句话",
    complaint_request: "诉求", request_detail: "诉求（旅客原话）",
  };
  const REQUEST = { refund: "退款", compensation: "赔偿", apology: "道歉", fix: "解决问题", other: "其他" };
  const NEXT_STATUS = {
    received: ["investigating", "rejected"], investigating: ["plan_made", "rejected"], plan_made: ["resolved"],
    resolved: ["followed_up"], followed_up: ["closed"], closed: [], rejected: [],
  };
  const TICKET_STATUS = {
    received: "已受理", investigating: "调查核实中", plan_made: "已制定处理方案", resolved: "处理方案已落实",
    followed_up: "已回访", closed: "已结案", rejected: "不予受理",
  };

  let auth = null;
  try { auth = JSON.parse(sessionStorage.getItem("console.auth") || "null"); } catch (e) { auth = null; }
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
    refreshQueue();
    clearInterval(queueTimer);
    queueTimer = setInterval(refreshQueue, QUEUE_POLL_MS);
  }

  // --- queue -------------------------------------------------------------------------------
  async function refreshQueue() {
    if (!auth) return;
    let queue;
    try { queue = await api("GET", "/handoffs"); } catch (error) { $("queue-count").textContent = error.message; return; }
    $("queue-count").textContent = `等待 ${queue.waiting} · 服务中 ${queue.active}`;
    const list = $("queue-list");
    list.textContent = "";
    for (const h of queue.items) {
      const item = el("li", `queue-item ${h.colour === "red" ? "red" : "yellow"}`);
      item.dataset.id = h.id;
      if (h.id === selectedId) item.classList.add("selected");
      const line1 = el("div", "line1");
      line1.appendChild(el("span", null, `${SEVERITY[h.severity] || h.severity} · ${REASON[h.reason] || h.reason}`));
      line1.appendChild(el("span", null, h.status === "waiting" ? `第 ${h.position} 位` : STATUS[h.status]));
      item.appendChild(line1);
      const who = h.agent ? ` · 客服 ${h.agent}` : "";
      item.appendChild(el("div", "line2", `已等待 ${minutes(h.waiting_seconds)} · ${h.channel}${h.ticket_no ? " · " + h.ticket_no : ""}${who}`));
      const preview = h.summary && (h.summary.complaint_description || h.summary.last_message);
      if (preview) item.appendChild(el("div", "line2", String(preview).slice(0, 60)));
      item.addEventListener("click", () => select(h.id));
      list.appendChild(item);
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
    document.querySelectorAll(".queue-item").forEach((n) => n.classList.toggle("selected", Number(n.dataset.id) === id));
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
    badge.textContent = SEVERITY[selected.severity] || selected.severity;
    $("conv-title").textContent = `会话 #${selected.id} · ${REASON[selected.reason] || selected.reason}`;
    const reply = selected.first_reply_wait_seconds !== null ? ` · 首次回复用时 ${minutes(selected.first_reply_wait_seconds)}` : "";
    // REST clients cannot be pushed to: the agent's message lands in the conversation record.
    const channel = selected.channel === "rest" ? "rest（旅客端需刷新才能看到回复）" : selected.channel;
    $("conv-meta").textContent = `${STATUS[selected.status]}${selected.agent ? "（" + selected.agent + "）" : ""} · 渠道 ${channel} · 已等待 ${minutes(selected.waiting_seconds)}${reply}`;
    const open = selected.status === "waiting" || selected.status === "active";
    $("take").hidden = selected.status !== "waiting";
    $("hand-back").hidden = !(open && (mine() || auth.role === "supervisor"));
    $("close").hidden = !(open && (mine() || auth.role === "supervisor"));
    $("reply-text").disabled = !mine();
    $("reply-send").disabled = !mine();
    $("reply-text").placeholder = mine() ? "输入回复，Enter 发送，Shift+Enter 换行"
      : open ? "接入会话后才能回复" : "会话已结束";
  }

  function showSummary() {
    const box = $("summary");
    box.textContent = "";
    const entries = Object.entries(selected.summary || {});
    if (!entries.length) { box.appendChild(el("dd", "muted", "（无）")); return; }
    for (const [key, value] of entries) {
      box.appendChild(el("dt", null, SUMMARY_LABELS[key] || key));
      box.appendChild(el("dd", null, typeof value === "boolean" ? (value ? "是" : "否") : Array.isArray(value) ? value.join("、") : value));
    }
  }

  async function refreshTranscript() {
    if (!selectedId || !auth) return;
    const id = selectedId;
    let data;
    try {
      data = await api("GET", `/handoffs/${id}/transcript`);
    } catch (error) {
      if (id === selectedId) $("conv-error").textContent = error.status === 403 ? `${error.message}` : error.message;
      return;
    }
    if (id !== selectedId) return;
    const key = JSON.stringify(data.lines.map((l) => [l.sender, l.text, l.at]));
    if (key === transcriptKey) return; // unchanged: keep the agent's scroll position
    transcriptKey = key;
    const box = $("transcript");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.textContent = "";
    if (!data.lines.length) box.appendChild(el("div", "muted", "暂无对话记录（旅客可能已离开，可直接结束会话）"));
    for (const line of data.lines) {
      const row = el("div", `line ${line.sender}`);
      const who = line.sender === "agent" && line.agent ? `客服 ${line.agent}` : SENDER[line.sender] || line.sender;
      row.appendChild(el("div", "who", `${who} · ${clock(line.at)}`));
      const text = line.buttons && line.buttons.length ? `${line.text}\n[按钮：${line.buttons.join(" / ")}]` : line.text;
      row.appendChild(el("div", "text", text));
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

  $("take").addEventListener("click", () => act(`/handoffs/${selectedId}/take`));
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
  $("reply-text").addEventListener("keydown", (event) => {
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
      ["诉求", [REQUEST[t.request] || t.request, t.request_detail].filter(Boolean).join("：") || "—"],
    ];
    for (const [k, v] of rows) { fields.appendChild(el("dt", null, k)); fields.appendChild(el("dd", null, v)); }
    const notes = $("ticket-notes");
    notes.textContent = "";
    for (const n of t.notes || []) notes.appendChild(el("li", null, `${n.author}：${n.text}`));
    const select = $("ticket-status");
    select.textContent = "";
    for (const s of NEXT_STATUS[t.status] || []) {
      const option = el("option", null, TICKET_STATUS[s]);
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
