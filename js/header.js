// Status header of a run: colour per status, name, id, experiment, start time, live
// duration, a link to the run report, and the error bar. Renders traits only.
// (rwTime, rwDuration, rwClock, rwStatusClass come from format.js.)

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-live", "rw-header-panel");
  const clock = rwClock();
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
    // A view restored from saved state has no kernel to make the report: say what works.
    setTimeout(() => {
      if (pending === win) {
        pending = null;
        if (win) win.close();
        const url = (model.get("header") || {}).portal_url || "";
        let path = "";
        try { path = url ? decodeURIComponent(new URL(url).pathname) : ""; } catch (e) { path = ""; }
        errorBar.textContent = "This view was saved with the notebook and no kernel runs it now, " +
          "so it cannot make the report. Run the notebook from the top to bring the view back " +
          "(its cell needs the cells before it), or open the report that run.get_portal_url() " +
          "writes in the workspace" + (path ? `: ${path}` : ".");
        errorBar.style.display = "";
      }
    }, 8000);
  });
  bar.append(title, link);
  const meta = el("div", "rw-meta");
  const errorBar = el("div", "rw-error-bar");
  root.append(bar, errorBar, meta);

  function update() {
    const h = model.get("header") || {};
    clock.sync(h.now);
    const status = h.status || "Loading";
    bar.className = `rw-status-bar ${rwStatusClass(status)}`;
    title.textContent = `${h.kind_label || "Run"} ${h.display_name || h.run_id || ""} (${status === "NotStarted" ? "Not Started" : status})`;
    link.title = "Open the run's report in a new tab";
    link.style.display = h.portal_url ? "" : "none";
    meta.replaceChildren();
    const items = [["Run Id", h.run_id], ["Experiment", h.experiment], ["Started", rwTime(h.start)]];
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
    const end = h.end != null ? h.end : clock.now();
    rwSetText(node, rwDuration(end - h.created));
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
  rwRestoredIsNoChange(model);
  const stopTicking = rwEverySecond(tick);
  return () => {
    stopTicking();
    model.off("change:header", update);
    model.off("change:error", update);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
