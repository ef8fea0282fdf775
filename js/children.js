// Child-run table: sortable columns, pages of `page_size` rows, live durations, the best
// run highlighted; clicking a row selects that child (the kernel shows its details), and
// an optional cancel button per running row sends an intent. Metric columns show the
// summary chosen above the table (last, min, max or best: every row carries all four).
// No business logic here. (rwTime, rwDuration, rwClock, rwStatusClass, RW_ACTIVE come
// from format.js.)
const clock = rwClock();
const STATS = [["last", "last value"], ["min", "minimum"], ["max", "maximum"], ["best", "best (by goal)"]];

// The key of a metric column's cell for the summary shown ("m:loss@min" …).
function shownKey(column, stat) {
  return column.stats && stat && stat !== "last" ? `${column.key}@${stat}` : column.key;
}

function duration(row) {
  if (row.created == null) return null;
  const end = row.end != null ? row.end : clock.now();
  return Math.max(0, end - row.created);
}

function cellValue(row, key) {
  if (key === "duration") return duration(row);
  if (key in row) return row[key];
  if (row.values && key in row.values) return row.values[key];
  return null;
}

function compare(a, b) {
  if (a == null && b == null) return 0;
  if (a == null) return 1;   // empty cells last, whatever the direction
  if (b == null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-children");
  let page = 0;
  const title = document.createElement("div");
  title.className = "rw-title";
  const table = document.createElement("table");
  const scroller = document.createElement("div");
  scroller.className = "rw-table-scroll";
  scroller.tabIndex = 0;  // a scrolling region keyboard users can reach
  scroller.setAttribute("role", "region");
  scroller.setAttribute("aria-label", "Child runs");
  scroller.append(table);
  const pager = document.createElement("div");
  pager.className = "rw-pager";
  // The pager shares the title's line: appearing at the 21st row, it moves nothing.
  const head = document.createElement("div");
  head.className = "rw-children-head";
  head.append(title, pager);
  const stat = document.createElement("select");
  stat.className = "rw-stat";
  stat.setAttribute("aria-label", "Metric columns show");
  for (const [value, label] of STATS) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    stat.append(option);
  }
  stat.addEventListener("change", () => { model.set("stat", stat.value); model.save_changes(); });
  head.insertBefore(stat, pager);
  const footnote = document.createElement("div");
  footnote.className = "rw-muted rw-footnote";
  root.append(head, scroller, footnote);

  function sortedRows() {
    const rows = [...(model.get("rows") || [])];
    const column = (model.get("columns") || []).find((c) => c.key === model.get("sort_key"));
    const key = column ? shownKey(column, model.get("stat")) : model.get("sort_key");
    const desc = model.get("sort_desc");
    if (key) {
      rows.sort((a, b) => {
        const av = cellValue(a, key), bv = cellValue(b, key);
        if (av == null || bv == null) return compare(av, bv);
        return desc ? compare(bv, av) : compare(av, bv);
      });
    }
    return rows;
  }

  function button(label, onClick, disabled) {
    const b = document.createElement("button");
    b.textContent = label;
    b.disabled = !!disabled;
    b.addEventListener("click", (event) => { event.stopPropagation(); onClick(); });
    return b;
  }

  // The header and rows of the last update, reused while what they show is unchanged: a
  // refresh then replaces only the rows that changed (a click or the focus on a finished
  // child's row, its header or a Cancel button is not lost to it).
  let headKey = "", headRow = null, pagerKey = "";
  let rowNodes = new Map();  // run id -> {key, tr}

  function headerRow(columns, shown, cancellable) {
    const head = document.createElement("tr");
    for (const column of columns) {
      const th = document.createElement("th");
      th.scope = "col";
      const key = model.get("sort_key");
      const sorted = key === column.key;
      const title = column.stats && shown !== "last" ? `${column.title} (${shown})` : column.title;
      const sort = document.createElement("button");
      sort.type = "button";
      sort.className = "rw-sort";
      sort.textContent = title + (sorted ? (model.get("sort_desc") ? " ▼" : " ▲") : "");
      sort.title = column.tooltip || `Sort by ${title}`;
      if (sorted) th.setAttribute("aria-sort", model.get("sort_desc") ? "descending" : "ascending");
      th.className = `rw-sortable rw-col-${column.key.replace(/[^a-z]/gi, "")}`;
      sort.addEventListener("click", () => {
        if (model.get("sort_key") === column.key) model.set("sort_desc", !model.get("sort_desc"));
        else { model.set("sort_key", column.key); model.set("sort_desc", false); }
        model.save_changes();
      });
      th.append(sort);
      head.append(th);
    }
    if (cancellable) {
      const th = document.createElement("th");
      th.append(Object.assign(document.createElement("span"), { className: "rw-sr-only", textContent: "Cancel" }));
      head.append(th);
    }
    return head;
  }

  function childRow(row, columns, shown, best, selected, cancellable) {
    const tr = document.createElement("tr");
    tr.className = "rw-row";
    if (row.id === best) tr.classList.add("rw-best");
    if (row.id === selected) tr.classList.add("rw-selected");
    tr.dataset.runId = row.id;
    for (const column of columns) {
      const td = document.createElement("td");
      let value = cellValue(row, shownKey(column, shown));
      if (column.key === "duration") {
        value = rwDuration(value);
        td.classList.add("rw-duration");
        td.dataset.created = row.created ?? "";
        td.dataset.end = row.end ?? "";
      }
      else if (column.key === "started") value = rwTime(row.start);
      else if (column.time) value = rwTime(value);
      else if (typeof value === "number" && !Number.isInteger(value)) value = Number(value.toPrecision(6));
      td.textContent = value == null ? "" : String(value);
      if (column.key === "status") td.className = rwStatusClass(row.status);
      tr.append(td);
    }
    if (cancellable) {
      const td = document.createElement("td");
      if (RW_ACTIVE.has(row.status) && row.status !== "CancelRequested") {
        const cancel = button("Cancel", () => model.send({ event: "cancel", run_id: row.id }));
        cancel.setAttribute("aria-label", `Cancel run ${row.number}`);
        td.append(cancel);
      }
      tr.append(td);
    }
    tr.addEventListener("click", () => {
      model.set("selected_id", row.id === model.get("selected_id") ? "" : row.id);
      model.save_changes();
    });
    return tr;
  }

  function update() {
    clock.sync(model.get("clock"));
    const rows = sortedRows();
    const columns = model.get("columns") || [];
    const size = Math.max(1, model.get("page_size") || 20);
    const pages = Math.max(1, Math.ceil(rows.length / size));
    page = Math.min(page, pages - 1);
    title.textContent = `${model.get("title") || "Child runs"} (${rows.length})`;
    // A class, not an inline style: some widget managers (Voilà, html-manager) reset it.
    root.classList.toggle("rw-empty", !(rows.length || model.get("show_empty")));
    const shown = model.get("stat") || "last";
    const statsShown = columns.some((c) => c.stats);
    stat.style.display = statsShown ? "" : "none";
    if (document.activeElement !== stat) stat.value = shown;
    const columnsKey = JSON.stringify(columns);
    const cancellable = !!model.get("cancellable");
    const key = JSON.stringify([columnsKey, model.get("sort_key"), model.get("sort_desc"), shown, cancellable]);
    if (key !== headKey) {  // rebuilt only when it changes (see rowNodes)
      headKey = key;
      headRow = headerRow(columns, shown, cancellable);
    }
    const best = model.get("best_id");
    const selected = model.get("selected_id");
    const nextNodes = new Map();
    for (const row of rows.slice(page * size, (page + 1) * size)) {
      const rowKey = JSON.stringify([row, columnsKey, shown, cancellable, row.id === best, row.id === selected]);
      const kept = rowNodes.get(row.id);
      nextNodes.set(row.id, kept && kept.key === rowKey ? kept : { key: rowKey, tr: childRow(row, columns, shown, best, selected, cancellable) });
    }
    rowNodes = nextNodes;
    rwPlaceChildren(table, [headRow, ...[...rowNodes.values()].map((r) => r.tr)]);
    if (`${page}/${pages}` !== pagerKey) {
      pagerKey = `${page}/${pages}`;
      pager.replaceChildren();
      if (pages > 1) {
        pager.append(
          document.createTextNode("Pages: "),
          button("first", () => { page = 0; update(); }, page === 0),
          button("prev", () => { page -= 1; update(); }, page === 0),
          document.createTextNode(` ${page + 1} / ${pages} `),
          button("next", () => { page += 1; update(); }, page >= pages - 1),
          button("last", () => { page = pages - 1; update(); }, page >= pages - 1),
        );
      }
    }
    footnote.textContent = model.get("footnote") || "";
  }

  const events = ["clock", "rows", "columns", "sort_key", "sort_desc", "best_id", "selected_id", "page_size", "title", "footnote", "cancellable", "stat"];
  for (const name of events) model.on(`change:${name}`, update);
  update();
  // Running rows: only their duration cells change each second, without the kernel.
  const stopTicking = rwEverySecond(() => {
    for (const td of table.querySelectorAll("td.rw-duration")) {
      if (td.dataset.end !== "" || td.dataset.created === "") continue;
      rwSetText(td, rwDuration(clock.now() - Number(td.dataset.created)));
    }
  });
  return () => {
    stopTicking();
    for (const name of events) model.off(`change:${name}`, update);
  };
}

export default { render };
