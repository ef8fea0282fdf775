// Experiment run table: one page of runs as the kernel sent it. Clicking a header asks for
// that sort, the filter boxes and pager ask for other pages, the checkboxes ask for another
// overlay selection, a click on a row asks to open that run. All sorting, filtering and
// paging happen in the kernel (over the store); this module renders traits and sends intents.
const COLORS = { Completed: "#65B806", Failed: "#A80000", Canceled: "#A80000" };
const STATUSES = [["", "All statuses"], ["active", "Active"], ["Completed", "Completed"], ["Failed", "Failed"], ["Canceled", "Canceled"]];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function formatDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  let s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function cell(row, column) {
  if (column.key === "start") return row.start != null ? new Date(row.start * 1000).toLocaleString() : "";
  if (column.key === "duration") return formatDuration((row.end != null ? row.end : Date.now() / 1000) - row.created);
  const value = column.key in row ? row[column.key] : (row.values || {})[column.key];
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
  for (const [value, label] of STATUSES) {
    const option = el("option", null, label);
    option.value = value;
    status.append(option);
  }
  const tag = el("input", "rw-filter-tag");
  tag.placeholder = "tag or tag=value";
  const text = el("input", "rw-filter-text");
  text.placeholder = "filter: name, id, number, tag";
  const report = el("button", "rw-report", "Report");
  report.title = "Open a self-contained HTML report of the selected runs";
  // The pager shares the filter bar's line: appearing with the page's last row + 1, it
  // moves nothing below the table.
  const pager = el("div", "rw-pager");
  bar.append(title, status, tag, text, report, pager);
  const table = el("table");
  const error = el("div", "rw-error-bar");
  root.append(bar, error, table);

  let timer = null;
  function sendFilters() {
    clearTimeout(timer);
    timer = setTimeout(() => model.send({ event: "filter", status: status.value, tag: tag.value, text: text.value }), 250);
  }
  status.addEventListener("change", sendFilters);
  tag.addEventListener("input", sendFilters);
  text.addEventListener("input", sendFilters);
  report.addEventListener("click", () => {
    pending = window.open("", "_blank");  // opened now: a user gesture, not blocked
    model.send({ event: "report" });
  });

  function update() {
    const columns = model.get("columns") || [];
    const rows = model.get("rows") || [];
    const selected = new Set(model.get("selected") || []);
    const colors = model.get("colors") || {};
    const best = model.get("best_id");
    const opened = model.get("opened_id");
    const sortKey = model.get("sort_key"), desc = model.get("sort_desc");
    title.textContent = `${model.get("title") || "Runs"} (${model.get("total") || 0})`;
    if (document.activeElement !== status) status.value = model.get("status_filter") || "";
    if (document.activeElement !== tag) tag.value = model.get("tag_filter") || "";
    if (document.activeElement !== text) text.value = model.get("text_filter") || "";
    table.replaceChildren();
    const head = el("tr");
    head.append(el("th", "rw-check-col", ""));
    for (const column of columns) {
      const th = el("th", "rw-sortable", column.title + (sortKey === column.key ? (desc ? " ▼" : " ▲") : ""));
      th.dataset.key = column.key;
      th.title = `Sort by ${column.title}`;
      th.addEventListener("click", () => {
        const same = sortKey === column.key;
        model.send({ event: "sort", key: column.key, desc: same ? !desc : column.kind !== "text" && column.kind !== "status" });
      });
      head.append(th);
    }
    table.append(head);
    for (const row of rows) {
      const tr = el("tr", "rw-row");
      tr.dataset.runId = row.id;
      if (row.id === best) tr.classList.add("rw-best");
      if (row.id === opened) tr.classList.add("rw-selected");
      const check = el("td", "rw-check-col");
      const box = el("input");
      box.type = "checkbox";
      box.checked = selected.has(row.id);
      box.title = "Show this run in the overlay charts";
      box.addEventListener("click", (event) => {
        event.stopPropagation();
        const next = new Set(model.get("selected") || []);
        if (box.checked) next.add(row.id); else next.delete(row.id);
        model.send({ event: "select", ids: [...next] });
      });
      const swatch = el("span", "rw-swatch");
      swatch.style.background = colors[row.id] || "transparent";
      check.append(box, swatch);
      tr.append(check);
      for (const column of columns) {
        const td = el("td", null, cell(row, column));
        if (column.key === "status") td.style.color = COLORS[row.status] || "#015CDA";
        if (column.key === "duration" && row.end == null) td.classList.add("rw-live-duration");
        tr.append(td);
      }
      tr.addEventListener("click", () => model.send({ event: "open", id: row.id === opened ? "" : row.id }));
      table.append(tr);
    }
    pager.replaceChildren();
    const page = model.get("page") || 0, pages = model.get("pages") || 1;
    const go = (p) => model.send({ event: "page", page: p });
    const button = (label, p, disabled) => {
      const b = el("button", null, label);
      b.disabled = disabled;
      b.addEventListener("click", () => go(p));
      return b;
    };
    if (pages > 1) {
      pager.append(button("first", 0, page === 0), button("prev", page - 1, page === 0),
        el("span", "rw-page-of", ` ${page + 1} / ${pages} `),
        button("next", page + 1, page >= pages - 1), button("last", pages - 1, page >= pages - 1));
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
  const names = ["columns", "rows", "selected", "colors", "best_id", "opened_id", "sort_key", "sort_desc", "total", "page", "pages", "title", "error", "status_filter", "tag_filter", "text_filter"];
  for (const name of names) model.on(`change:${name}`, update);
  model.on("msg:custom", onMessage);
  update();
  const clock = setInterval(() => {
    const rows = model.get("rows") || [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const td of table.querySelectorAll("td.rw-live-duration")) {
      const row = byId.get(td.parentElement.dataset.runId);
      if (row) td.textContent = formatDuration(Date.now() / 1000 - row.created);
    }
  }, 1000);
  return () => {
    clearInterval(clock);
    clearTimeout(timer);
    for (const name of names) model.off(`change:${name}`, update);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
