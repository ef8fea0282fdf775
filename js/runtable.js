// Experiment run table: one page of runs as the kernel sent it. Clicking a header asks for
// that sort, the filter boxes and pager ask for other pages, the "metric columns show"
// choice asks for another summary (last, min, max or best by the metric's goal), the
// checkboxes ask for another overlay selection, a click on a row asks to open that run.
// All sorting, filtering and paging happen in the kernel (over the store); this module
// renders traits and sends intents. (rwTime, rwDuration, rwClock, rwStatusClass,
// rwEverySecond, rwSetText and rwPlaceChildren come from format.js: one time format for
// every panel.)
const STATUSES = [["", "All statuses"], ["active", "Active"], ["Completed", "Completed"], ["Failed", "Failed"], ["Canceled", "Canceled"]];
const STATS = [["last", "last value"], ["min", "minimum"], ["max", "maximum"], ["best", "best (by goal)"]];
const clock = rwClock();

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function metricKey(column, stat) {
  return column.kind === "metric" && stat !== "last" ? `${column.key}@${stat}` : column.key;
}

function cell(row, column, stat) {
  if (column.key === "start") return rwTime(row.start);
  if (column.key === "duration") return rwDuration((row.end != null ? row.end : clock.now()) - row.created);
  const key = metricKey(column, stat);
  const value = key in row ? row[key] : (row.values || {})[key];
  if (value == null) return "";
  if (typeof value === "number" && !Number.isInteger(value)) return String(Number(value.toPrecision(6)));
  return String(value);
}

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-live", "rw-runtable");
  let pending = null;  // the report window waiting for its content
  const bar = el("div", "rw-runtable-bar");
  const title = el("span", "rw-title");
  const status = el("select", "rw-filter-status");
  status.setAttribute("aria-label", "Show runs of status");
  for (const [value, label] of STATUSES) {
    const option = el("option", null, label);
    option.value = value;
    status.append(option);
  }
  const tag = el("input", "rw-filter-tag");
  tag.placeholder = "tag or tag=value";
  tag.setAttribute("aria-label", "Filter runs by tag (key or key=value)");
  const text = el("input", "rw-filter-text");
  text.placeholder = "filter: name, id, number, tag";
  text.setAttribute("aria-label", "Filter runs by name, id, number or tag");
  const stat = el("select", "rw-stat");
  stat.setAttribute("aria-label", "Metric columns show");
  stat.title = "What each metric column shows: its last value, minimum, maximum, or best by the metric's goal";
  for (const [value, label] of STATS) {
    const option = el("option", null, label);
    option.value = value;
    stat.append(option);
  }
  const statLabel = el("span", "rw-muted", "metrics:");
  const report = el("button", "rw-report", "Report");
  report.title = "Open a self-contained HTML report of the selected runs";
  // The pager shares the filter bar's line (see update: its place is always kept).
  const pager = el("div", "rw-pager");
  bar.append(title, status, tag, text, statLabel, stat, report, pager);
  const table = el("table");
  const error = el("div", "rw-error-bar");
  error.setAttribute("role", "alert");
  root.append(bar, error, table);

  let timer = null;
  function sendFilters() {
    clearTimeout(timer);
    timer = setTimeout(() => model.send({ event: "filter", status: status.value, tag: tag.value, text: text.value }), 250);
  }
  status.addEventListener("change", sendFilters);
  tag.addEventListener("input", sendFilters);
  text.addEventListener("input", sendFilters);
  stat.addEventListener("change", () => model.send({ event: "stat", stat: stat.value }));
  report.addEventListener("click", () => {
    pending = window.open("", "_blank");  // opened now: a user gesture, not blocked
    model.send({ event: "report" });
  });

  function header(column, sortKey, desc, shown) {
    const th = el("th", "rw-sortable");
    th.scope = "col";
    th.dataset.key = column.key;
    const sorted = sortKey === column.key;
    if (sorted) th.setAttribute("aria-sort", desc ? "descending" : "ascending");
    const label = column.kind === "metric" && shown !== "last" ? `${column.title} (${shown})` : column.title;
    const button = el("button", "rw-sort", label + (sorted ? (desc ? " ▼" : " ▲") : ""));
    button.type = "button";
    const goal = column.goal ? `; best = ${column.goal === "maximize" ? "maximum" : "minimum"} (${column.goal})` : "";
    button.title = `Sort by ${label}${goal}`;
    button.addEventListener("click", () => {
      model.send({ event: "sort", key: column.key, desc: sorted ? !desc : column.kind !== "text" && column.kind !== "status" });
    });
    th.append(button);
    return th;
  }

  // The nodes of the last update, reused while what they show is unchanged: a refresh (every
  // few seconds while a run is live) then replaces only the rows that changed, so a click,
  // or the keyboard focus, on a header, a checkbox or a finished run's row is not lost.
  let headKey = "", headRow = null, pagerKey = "";
  let rowNodes = new Map();  // run id -> {key, tr}

  function headerRow(columns, sortKey, desc, shown, grouped) {
    const head = el("tr");
    const checkHead = el("th", "rw-check-col");
    checkHead.scope = "col";
    checkHead.append(el("span", "rw-sr-only", grouped ? "Group colour" : "In the charts"));
    head.append(checkHead);
    for (const column of columns) head.append(header(column, sortKey, desc, shown));
    return head;
  }

  function runRow(row, columns, view) {
    const tr = el("tr", "rw-row");
    tr.dataset.runId = row.id;
    if (row.id === view.best) tr.classList.add("rw-best");
    if (row.id === view.opened) tr.classList.add("rw-selected");
    const check = el("td", "rw-check-col");
    const box = el("input");
    box.type = "checkbox";
    box.checked = view.selected.has(row.id);
    box.hidden = view.grouped;  // grouped, the charts show the groups of the filtered runs
    box.title = view.grouped ? "Grouped: the charts show the groups of the filtered runs" : "Show this run in the overlay charts";
    box.setAttribute("aria-label", `Show run ${row.number} ${row.display_name || ""} in the charts`.replace(/\s+/g, " ").trim());
    box.addEventListener("click", (event) => {
      event.stopPropagation();
      const next = new Set(model.get("selected") || []);
      if (box.checked) next.add(row.id); else next.delete(row.id);
      model.send({ event: "select", ids: [...next] });
    });
    const swatch = el("span", "rw-swatch");
    swatch.style.background = view.colors[row.id] || "transparent";
    check.append(box, swatch);
    tr.append(check);
    for (const column of columns) {
      const td = el("td", null, cell(row, column, view.shown));
      if (column.key === "status") td.className = rwStatusClass(row.status);
      if (column.key === "duration" && row.end == null) td.classList.add("rw-live-duration");
      if (column.kind === "time" || column.kind === "duration") td.classList.add("rw-nowrap");
      tr.append(td);
    }
    tr.addEventListener("click", () => model.send({ event: "open", id: row.id === view.opened ? "" : row.id }));
    return tr;
  }

  function pagerButtons(page, pages) {
    const go = (p) => model.send({ event: "page", page: p });
    const button = (label, p, disabled, name) => {
      const b = el("button", null, label);
      b.disabled = disabled;
      b.setAttribute("aria-label", name);
      b.addEventListener("click", () => go(p));
      return b;
    };
    return [button("first", 0, page === 0, "First page of runs"),
      button("prev", page - 1, page === 0, "Previous page of runs"),
      el("span", "rw-page-of", ` ${page + 1} / ${pages} `),
      button("next", page + 1, page >= pages - 1, "Next page of runs"),
      button("last", pages - 1, page >= pages - 1, "Last page of runs")];
  }

  function update() {
    const columns = model.get("columns") || [];
    const rows = model.get("rows") || [];
    const view = {
      selected: new Set(model.get("selected") || []),
      colors: model.get("colors") || {},
      best: model.get("best_id"),
      opened: model.get("opened_id"),
      grouped: !!model.get("grouped"),
      shown: model.get("stat") || "last",
    };
    const sortKey = model.get("sort_key"), desc = model.get("sort_desc");
    title.textContent = `${model.get("title") || "Runs"} (${model.get("total") || 0})`;
    if (document.activeElement !== status) status.value = model.get("status_filter") || "";
    if (document.activeElement !== tag) tag.value = model.get("tag_filter") || "";
    if (document.activeElement !== text) text.value = model.get("text_filter") || "";
    if (document.activeElement !== stat) stat.value = view.shown;
    const hasMetrics = columns.some((c) => c.kind === "metric");
    stat.style.display = statLabel.style.display = hasMetrics ? "" : "none";
    const columnsKey = JSON.stringify(columns);
    const key = JSON.stringify([columnsKey, sortKey, desc, view.shown, view.grouped]);
    if (key !== headKey) {
      headKey = key;
      headRow = headerRow(columns, sortKey, desc, view.shown, view.grouped);
    }
    const nextNodes = new Map();
    for (const row of rows) {
      const rowKey = JSON.stringify([row, columnsKey, view.shown, view.grouped,
        view.selected.has(row.id), view.colors[row.id] || "", row.id === view.best, row.id === view.opened]);
      const kept = rowNodes.get(row.id);
      nextNodes.set(row.id, kept && kept.key === rowKey ? kept : { key: rowKey, tr: runRow(row, columns, view) });
    }
    rowNodes = nextNodes;
    rwPlaceChildren(table, [headRow, ...[...rowNodes.values()].map((r) => r.tr)]);
    const page = model.get("page") || 0, pages = model.get("pages") || 1;
    if (`${page}/${pages}` !== pagerKey) {
      pagerKey = `${page}/${pages}`;
      // Always laid out, hidden while there is one page: when the bar wraps (a narrow
      // notebook, many controls), the pager's place is already there, so its appearing
      // with the page's last row + 1 moves nothing.
      pager.replaceChildren(...pagerButtons(page, pages));
      pager.style.visibility = pages > 1 ? "" : "hidden";
      pager.setAttribute("aria-hidden", pages > 1 ? "false" : "true");
    }
    const message = model.get("error") || "";
    error.textContent = message;
    error.style.display = message ? "" : "none";
  }
  function onMessage(message) {
    if (message && message.report_html != null && pending) {
      pending.location = URL.createObjectURL(new Blob([message.report_html], { type: "text/html" }));
      pending = null;
    }
  }
  const names = ["columns", "rows", "selected", "colors", "best_id", "opened_id", "sort_key", "sort_desc", "total", "page", "pages", "title", "error", "status_filter", "tag_filter", "text_filter", "stat", "grouped"];
  for (const name of names) model.on(`change:${name}`, update);
  model.on("msg:custom", onMessage);
  update();
  rwRestoredIsNoChange(model);
  const stopTicking = rwEverySecond(() => {
    const rows = model.get("rows") || [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const td of table.querySelectorAll("td.rw-live-duration")) {
      const row = byId.get(td.parentElement.dataset.runId);
      if (row) rwSetText(td, rwDuration(clock.now() - row.created));
    }
  });
  return () => {
    stopTicking();
    clearTimeout(timer);
    for (const name of names) model.off(`change:${name}`, update);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
