// Supervisors' report: every figure comes from GET /report (computed and tested in the API);
// this page only draws it, as ECharts charts with a table beside each one (a chart alone is not
// accessible), with Chinese labels from GET /labels. Data is inserted with textContent only.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  // The console's login (console.js): same session key, so one login serves both pages.
  const AUTH_KEY = "console.auth";
  const COLOURS = ["#1d4ed8", "#b42318", "#0f766e", "#a15c07", "#6d28d9", "#be185d", "#374151", "#15803d", "#c2410c", "#0369a1", "#4d7c0f"];
  // As in the console: urgent red, major dark amber, general blue (each 4.5:1+ against white).
  const SEVERITY_COLOURS = { urgent: "#b42318", major: "#a15c07", general: "#1d4ed8" };
  let auth = null;
  try { auth = JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null"); } catch (e) { auth = null; }
  let labels = null;
  let charts = [];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function api(path, options) {
    const headers = { "Content-Type": "application/json" };
    if (auth) headers.Authorization = `Bearer ${auth.token}`;
    const response = await fetch(path, Object.assign({ headers }, options || {}));
    if (response.status === 401 && auth) { showLogin("登录已过期，请重新登录"); }
    if (!response.ok) {
      const error = new Error(response.status === 403 ? "报表仅限主管查看" : `请求失败（${response.status}）`);
      error.status = response.status;
      throw error;
    }
    return response;
  }

  // --- formatting -----------------------------------------------------------------------------
  const NONE = "无数据";
  const pct = (share) => (share === null || share === undefined ? NONE : `${(share * 100).toFixed(1)}%`);
  const num = (value) => (value === null || value === undefined ? NONE : String(value));
  const score = (value) => (value === null || value === undefined ? NONE : value.toFixed(1));
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return NONE;
    if (seconds < 60) return `${seconds} 秒`;
    return `${Math.floor(seconds / 60)} 分 ${seconds % 60} 秒`;
  }
  function label(table, code) {
    if (code === "unknown") return "未注明";
    return (labels && labels[table] && labels[table][code]) || code;
  }
  function periodName(key) {
    const week = /^(\d{4})-W(\d{2})$/.exec(key);
    if (week) return `${week[1]} 年第 ${Number(week[2])} 周`;
    const month = /^(\d{4})-(\d{2})$/.exec(key);
    return month ? `${month[1]} 年 ${Number(month[2])} 月` : key;
  }

  // --- tables ---------------------------------------------------------------------------------
  function fillTable(table, caption, head, rows) {
    table.replaceChildren();
    table.append(el("caption", "visually-hidden", caption));
    const thead = el("thead"), tr = el("tr");
    head.forEach((text) => { const th = el("th", null, text); th.scope = "col"; tr.append(th); });
    thead.append(tr);
    const tbody = el("tbody");
    rows.forEach((cells) => {
      const row = el("tr");
      cells.forEach((text, i) => {
        const cell = el(i === 0 ? "th" : "td", null, text);
        if (i === 0) cell.scope = "row";
        row.append(cell);
      });
      tbody.append(row);
    });
    if (!rows.length) {
      const row = el("tr"), cell = el("td", null, "本周期没有数据");
      cell.colSpan = head.length;
      row.append(cell);
      tbody.append(row);
    }
    table.append(thead, tbody);
  }

  // --- charts ---------------------------------------------------------------------------------
  function chart(id, description, option) {
    const node = $(id);
    // The table beside it carries the figures; the chart is described for screen readers.
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", description);
    let instance = echarts.getInstanceByDom(node);
    if (!instance) { instance = echarts.init(node, null, { renderer: "canvas" }); charts.push(instance); }
    instance.setOption(Object.assign({
      color: COLOURS,
      textStyle: { fontFamily: "PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif", color: "#1f2933" },
      grid: { left: 48, right: 16, top: 40, bottom: 48, containLabel: true },
      tooltip: { trigger: "axis" },
      aria: { enabled: false },
    }, option), true);
  }

  function barOption(names, values, name) {
    return {
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 4 ? 35 : 0, color: "#1f2933" } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: "#1f2933" } },
      series: [{ name, type: "bar", data: values, itemStyle: { color: "#1d4ed8" }, label: { show: true, position: "top", color: "#1f2933" } }],
      grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
    };
  }

  // --- the report -----------------------------------------------------------------------------
  const DIMENSIONS = [
    ["category", "categories", "类别"], ["severity", "severities", "严重程度"], ["stage", "stages", "阶段"],
    ["department", "departments", "责任部门"], ["status", "ticket_statuses", "处理状态"],
  ];

  function kpi(term, value, hint) {
    const box = el("div", "kpi");
    box.append(el("dt", null, term), el("dd", "kpi-value", value));
    if (hint) box.append(el("dd", "kpi-hint", hint));
    return box;
  }

  function render(r) {
    const periods = r.periods.map((p) => periodName(p.period));
    const decided = r.deadlines.reduce((acc, s) => ({ met: acc.met + s.met, all: acc.all + s.met + s.breached }), { met: 0, all: 0 });
    $("kpis").replaceChildren(
      kpi("投诉总数", num(r.total), `${r.start} 至 ${r.end}`),
      kpi("时限按时完成率", pct(decided.all ? decided.met / decided.all : null), `已到期 ${decided.all} 项`),
      kpi("满意度（百分制）", score(r.satisfaction.score), `${r.satisfaction.count} 条评价，目标 ${r.satisfaction.target}`),
      kpi("重复投诉", num(r.repeats.tickets), `涉及 ${r.repeats.groups} 位旅客`),
      kpi("人工首次回复（平均）", duration(r.first_reply.mean_seconds), `10 分钟内 ${pct(r.first_reply.within_target_share)}`),
      kpi("机器人独立处理率", pct(r.containment.share), `${r.containment.contained}/${r.containment.bot_tickets} 件投诉未转人工`),
    );

    // Trend: volume stacked by severity, one bar per week or month.
    const severities = Object.keys((labels && labels.severities) || { urgent: 1, major: 1, general: 1 });
    chart("chart-trend", `投诉量趋势柱状图，共 ${r.periods.length} 个周期，详见旁边的表格`, {
      legend: { top: 0, textStyle: { color: "#1f2933" } },
      xAxis: { type: "category", data: periods, axisLabel: { color: "#1f2933" } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: "#1f2933" } },
      series: severities.map((code) => ({
        name: label("severities", code), type: "bar", stack: "total", itemStyle: { color: SEVERITY_COLOURS[code] },
        data: r.periods.map((p) => p.by_severity[code] || 0),
      })),
    });
    fillTable($("table-trend"), "各周期投诉量",
      ["周期", "投诉量", ...severities.map((c) => label("severities", c)), "满意度", "重复投诉", "转人工"],
      r.periods.map((p) => [periodName(p.period), p.total, ...severities.map((c) => p.by_severity[c] || 0),
        score(p.satisfaction_score), p.repeat_tickets, p.handoffs]));

    DIMENSIONS.forEach(([dim, table, name]) => {
      const counts = r[`by_${dim}`];
      const codes = Object.keys(counts);
      const names = codes.map((c) => label(table, c));
      chart(`chart-${dim}`, `${name}分布柱状图，详见下方表格`, barOption(names, codes.map((c) => counts[c]), "投诉量"));
      fillTable($(`table-${dim}`), `按${name}统计`, [name, "投诉量", "占比"],
        codes.map((c, i) => [names[i], counts[c], pct(r.total ? counts[c] / r.total : null)]));
    });

    const steps = r.deadlines.filter((s) => s.met + s.breached + s.open > 0);
    chart("chart-deadlines", "各环节时限按时完成率柱状图，详见旁边的表格", {
      xAxis: { type: "category", data: steps.map((s) => label("deadlines", s.step)), axisLabel: { interval: 0, rotate: 30, color: "#1f2933" } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%", color: "#1f2933" } },
      series: [{ name: "按时完成率", type: "bar", itemStyle: { color: "#0f766e" },
        data: steps.map((s) => (s.met_share === null ? null : Math.round(s.met_share * 1000) / 10)),
        label: { show: true, position: "top", formatter: "{c}%", color: "#1f2933" } }],
    });
    fillTable($("table-deadlines"), "各环节时限", ["环节", "按时完成", "超时", "进行中", "按时完成率"],
      steps.map((s) => [label("deadlines", s.step), s.met, s.breached, s.open, pct(s.met_share)]));

    chart("chart-quality", "满意度与机器人独立处理率折线图，详见旁边的表格", {
      legend: { top: 0, textStyle: { color: "#1f2933" } },
      xAxis: { type: "category", data: periods, axisLabel: { color: "#1f2933" } },
      yAxis: { type: "value", max: 100, axisLabel: { color: "#1f2933" } },
      series: [
        { name: "满意度（百分制）", type: "line", connectNulls: false, data: r.periods.map((p) => p.satisfaction_score) },
        { name: "机器人独立处理率（%）", type: "line", data: r.periods.map((p) => (p.containment_share === null ? null : Math.round(p.containment_share * 1000) / 10)) },
      ],
    });
    fillTable($("table-quality"), "满意度、重复投诉与机器人独立处理", ["指标", "数值"], [
      ["满意度（百分制）", score(r.satisfaction.score)],
      ["评价数", r.satisfaction.count],
      ["低分评价（1–2 星）", r.satisfaction.low],
      ["重复投诉单数", r.repeats.tickets],
      ["多次投诉的旅客", r.repeats.groups],
      ["创建时标记为重复", r.repeats.flagged],
      ["机器人受理的投诉", r.containment.bot_tickets],
      ["其中未转人工", r.containment.contained],
      ["机器人独立处理率", pct(r.containment.share)],
      ...Object.entries(r.containment.handoffs_by_reason).map(([code, n]) => [`转人工：${label("handoff_reasons", code)}`, n]),
    ]);

    const fr = r.first_reply;
    chart("chart-reply", "各周期人工首次回复平均等待时间折线图，详见旁边的表格", {
      xAxis: { type: "category", data: periods, axisLabel: { color: "#1f2933" } },
      yAxis: { type: "value", name: "分钟", axisLabel: { color: "#1f2933" } },
      series: [{ name: "平均等待（分钟）", type: "line", data: r.periods.map((p) => (p.first_reply_mean_seconds === null ? null : Math.round(p.first_reply_mean_seconds / 6) / 10)),
        markLine: { silent: true, symbol: "none", data: [{ yAxis: fr.target_seconds / 60, name: "目标" }], lineStyle: { color: "#b42318" } } }],
    });
    fillTable($("table-reply"), "人工首次回复", ["客服", "已回复", "平均等待", "10 分钟内"], [
      ["全部", `${fr.replied}/${fr.handoffs}`, duration(fr.mean_seconds), `${fr.within_target}（${pct(fr.within_target_share)}）`],
      ...fr.by_agent.map((a) => [a.name, a.replied, duration(a.mean_seconds), a.within_target]),
      ["中位等待", "", duration(fr.median_seconds), ""],
      ["接入后平均回复", "", duration(fr.mean_after_take_seconds), ""],
    ]);

    fillTable($("table-phrases"), "机器人未理解的话", ["排名", "旅客原话（已隐去个人信息）", "次数"],
      r.misunderstood.map((p, i) => [String(i + 1), p.text, p.count]));
  }

  function query() {
    const params = new URLSearchParams({ granularity: $("period-granularity").value });
    if ($("period-from").value) params.set("from", $("period-from").value);
    if ($("period-to").value) params.set("to", $("period-to").value);
    return params.toString();
  }

  async function load(useInputs) {
    $("report-status").textContent = "正在生成报表……";
    try {
      if (!labels) labels = await (await api("/labels")).json();
      const r = await (await api(`/report${useInputs ? `?${query()}` : ""}`)).json();
      $("period-from").value = r.start; $("period-to").value = r.end; $("period-granularity").value = r.granularity;
      render(r);
      $("report-status").textContent = `已生成：${r.start} 至 ${r.end}，共 ${r.total} 件投诉`;
    } catch (error) {
      $("report-status").textContent = error.status === 422 ? "日期范围无效：开始日期不能晚于结束日期，且不超过两年" : error.message;
    }
  }

  async function downloadCsv() {
    $("report-status").textContent = "正在准备 CSV……";
    try {
      const response = await api(`/report.csv?${query()}`);
      const blob = await response.blob();
      const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      const link = el("a");
      link.href = URL.createObjectURL(blob);
      link.download = match ? match[1] : "report.csv";
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      $("report-status").textContent = `已下载 ${link.download}`;
    } catch (error) {
      $("report-status").textContent = error.message;
    }
  }

  // --- login (the console's session) --------------------------------------------------------
  function showLogin(message, keepSession) {
    // An agent who came from the console keeps the console's session: only the report is refused.
    if (!keepSession) { auth = null; sessionStorage.removeItem(AUTH_KEY); }
    $("report-view").hidden = true; $("logout").hidden = true; $("whoami").textContent = "";
    $("login-view").hidden = false;
    $("login-error").textContent = message || "";
  }

  function start() {
    if (!auth || auth.mustChange) return showLogin(auth && auth.mustChange ? "请先在客服工作台修改初始密码" : "");
    if (auth.role !== "supervisor") return showLogin("报表仅限主管查看，请使用主管账号登录", true);
    $("login-view").hidden = true; $("report-view").hidden = false; $("logout").hidden = false;
    $("whoami").textContent = `${auth.name || auth.username}（主管）`;
    load(false);
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const data = await (await api("/auth/login", { method: "POST", body: JSON.stringify({
        username: $("login-user").value.trim(), password: $("login-pass").value }) })).json();
      auth = { token: data.access_token, username: data.username, name: data.display_name, role: data.role,
        mustChange: data.must_change_password };
      sessionStorage.setItem(AUTH_KEY, JSON.stringify(auth));
      $("login-pass").value = "";
      start();
      if (!$("report-view").hidden) $("period-from").focus();
    } catch (error) {
      $("login-error").textContent = error.status === 401 ? "账号或密码错误" : error.status === 429 ? "尝试次数过多，请稍后再试" : error.message;
    }
  });
  $("logout").addEventListener("click", () => {
    if (auth) fetch("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${auth.token}` } }).catch(() => {});
    showLogin("已退出登录");
    $("login-user").focus();
  });
  $("period-form").addEventListener("submit", (event) => { event.preventDefault(); load(true); });
  $("download-csv").addEventListener("click", downloadCsv);
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

  start();
})();
