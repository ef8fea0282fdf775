// Status header of a run: colour per status, name, id, experiment, start time, live
// duration, a link to the run report, and the error bar. Renders traits only.
const COLORS = { Completed: "#65B806", Failed: "#A80000", Canceled: "#A80000", NotStarted: "#323130" };
const ACTIVE = "#015CDA";

export function formatDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  let s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400); s -= days * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const hms = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return days ? `${days} day${days > 1 ? "s" : ""}, ${hms}` : hms;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-live", "rw-header-panel");
  let pending = null;  // the report window waiting for its content
  const bar = el("div", "rw-status-bar");
  const title = el("span", "rw-status-title");
  const link = el("a", "rw-report-link", "View run details");
  link.href = "#";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const win = window.open("", "_blank");  // opened now: a user gesture, not blocked
    pending = win;
    model.send({ event: "open_report" });
  });
  bar.append(title, link);
  const meta = el("div", "rw-meta");
  const errorBar = el("div", "rw-error-bar");
  root.append(bar, errorBar, meta);

  function update() {
    const h = model.get("header") || {};
    const status = h.status || "Loading";
    bar.style.background = COLORS[status] || ACTIVE;
    title.textContent = `${h.kind_label || "Run"} ${h.display_name || h.run_id || ""} (${status === "NotStarted" ? "Not Started" : status})`;
    link.title = h.portal_url || "";
    link.style.display = h.portal_url ? "" : "none";
    meta.replaceChildren();
    const started = h.start ? new Date(h.start * 1000).toLocaleString() : "";
    const items = [["Run Id", h.run_id], ["Experiment", h.experiment], ["Started", started]];
    for (const [label, value] of items) {
      const item = el("span", "rw-meta-item");
      item.append(el("span", "rw-muted", `${label}: `), el("span", null, value || ""));
      meta.append(item);
    }
    const dur = el("span", "rw-meta-item");
    dur.append(el("span", "rw-muted", "Duration: "), el("span", "rw-duration", ""));
    meta.append(dur);
    tick();
    const error = model.get("error") || "";
    errorBar.textContent = error;
    errorBar.style.display = error ? "" : "none";
  }
  function tick() {
    const h = model.get("header") || {};
    const node = meta.querySelector(".rw-duration");
    if (!node || h.created == null) return;
    const end = h.end != null ? h.end : Date.now() / 1000;
    node.textContent = formatDuration(end - h.created);
  }
  function onMessage(message) {
    if (message && message.report_html != null && pending) {
      const url = URL.createObjectURL(new Blob([message.report_html], { type: "text/html" }));
      pending.location = url;
      pending = null;
    }
  }
  model.on("change:header", update);
  model.on("change:error", update);
  model.on("msg:custom", onMessage);
  update();
  const timer = setInterval(tick, 1000);
  return () => {
    clearInterval(timer);
    model.off("change:header", update);
    model.off("change:error", update);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
