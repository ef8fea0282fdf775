// Child-run table: sortable columns, pages of `page_size` rows, live durations, the best
// run highlighted; clicking a row selects that child (the kernel shows its details), and
// an optional cancel button per running row sends an intent. No business logic here.
// (rwTime, rwDuration, rwClock, rwStatusClass, RW_ACTIVE come from format.js.)
const clock = rwClock();

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
  scroller.append(table);
  const pager = document.createElement("div");
  pager.className = "rw-pager";
  // The pager shares the title's line: appearing at the 21st row, it moves nothing.
  const head = document.createElement("div");
  head.className = "rw-children-head";
  head.append(title, pager);
  const footnote = document.createElement("div");
  footnote.className = "rw-muted rw-footnote";
  root.append(head, scroller, footnote);

  function sortedRows() {
    const rows = [...(model.get("rows") || [])];
    const key = model.get("sort_key");
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
    table.replaceChildren();
    const head = document.createElement("tr");
    for (const column of columns) {
      const th = document.createElement("th");
      const key = model.get("sort_key");
      th.textContent = column.title + (key === column.key ? (model.get("sort_desc") ? " ▼" : " ▲") : "");
      if (column.tooltip) th.title = column.tooltip;
      th.className = `rw-sortable rw-col-${column.key.replace(/[^a-z]/gi, "")}`;
      th.addEventListener("click", () => {
        if (model.get("sort_key") === column.key) model.set("sort_desc", !model.get("sort_desc"));
        else { model.set("sort_key", column.key); model.set("sort_desc", false); }
        model.save_changes();
      });
      head.append(th);
    }
    if (model.get("cancellable")) head.append(document.createElement("th"));
    table.append(head);
    const best = model.get("best_id");
    const selected = model.get("selected_id");
    for (const row of rows.slice(page * size, (page + 1) * size)) {
      const tr = document.createElement("tr");
      tr.className = "rw-row";
      if (row.id === best) tr.classList.add("rw-best");
      if (row.id === selected) tr.classList.add("rw-selected");
      tr.dataset.runId = row.id;
      for (const column of columns) {
        const td = document.createElement("td");
        let value = cellValue(row, column.key);
        if (column.key === "duration") {
          value = rwDuration(value);
          td.classList.add("rw-duration");
          td.dataset.created = row.created ?? "";
          td.dataset.end = row.end ?? "";
        }
        else if (column.key === "started") value = rwTime(row.start);
        else if (typeof value === "number" && !Number.isInteger(value)) value = Number(value.toPrecision(6));
        td.textContent = value == null ? "" : String(value);
        if (column.key === "status") td.className = rwStatusClass(row.status);
        tr.append(td);
      }
      if (model.get("cancellable")) {
        const td = document.createElement("td");
        if (RW_ACTIVE.has(row.status) && row.status !== "CancelRequested") {
          td.append(button("Cancel", () => model.send({ event: "cancel", run_id: row.id })));
        }
        tr.append(td);
      }
      tr.addEventListener("click", () => {
        model.set("selected_id", row.id === model.get("selected_id") ? "" : row.id);
        model.save_changes();
      });
      table.append(tr);
    }
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
    footnote.textContent = model.get("footnote") || "";
  }

  const events = ["clock", "rows", "columns", "sort_key", "sort_desc", "best_id", "selected_id", "page_size", "title", "footnote", "cancellable"];
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
