// Sweep summary: a stacked bar of child counts per status, the limits, the primary metric
// and the best child so far, and a "Cancel sweep" button (an intent; Python acts on it).
const STATUS_COLORS = {
  Completed: "rgb(125,192,59)", Failed: "rgb(255,102,102)", Canceled: "rgb(230,200,40)",
  CancelRequested: "rgb(230,200,40)", Queued: "rgb(255,165,0)", NotStarted: "rgb(160,160,160)",
  Starting: "rgb(150,190,250)", Running: "rgb(88,146,245)", Finalizing: "rgb(88,146,245)",
};
const ORDER = ["Completed", "Running", "Finalizing", "Starting", "Queued", "NotStarted", "CancelRequested", "Canceled", "Failed"];

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-sweep");
  const line = document.createElement("div");
  line.className = "rw-sweep-line";
  const bar = document.createElement("div");
  bar.className = "rw-status-stack";
  const legend = document.createElement("div");
  legend.className = "rw-status-legend";
  const best = document.createElement("div");
  best.className = "rw-sweep-best";
  const cancel = document.createElement("button");
  cancel.textContent = "Cancel sweep";
  cancel.addEventListener("click", () => {
    cancel.disabled = true;
    model.send({ event: "cancel_sweep" });
  });
  root.append(line, bar, legend, best, cancel);

  function update() {
    const s = model.get("summary") || {};
    const counts = s.counts || {};
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    line.replaceChildren();
    const items = [
      ["Primary metric", `${s.metric || ""} (${(s.goal || "").toLowerCase()})`],
      ["Max concurrent runs", s.max_concurrent],
      ["Max total runs", s.max_total],
      ["Children", total],
    ];
    for (const [label, value] of items) {
      const span = document.createElement("span");
      const b = document.createElement("span");
      b.className = "rw-muted";
      b.textContent = `${label}: `;
      span.append(b, document.createTextNode(value == null ? "" : String(value)));
      line.append(span);
    }
    bar.replaceChildren();
    legend.replaceChildren();
    const statuses = Object.keys(counts).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
    for (const status of statuses) {
      const part = document.createElement("div");
      part.style.flexGrow = String(counts[status]);
      part.style.background = STATUS_COLORS[status] || "#999";
      part.title = `${status}: ${counts[status]}`;
      part.className = "rw-status-part";
      part.dataset.status = status;
      bar.append(part);
      const key = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "rw-swatch";
      swatch.style.background = part.style.background;
      key.append(swatch, document.createTextNode(`${status} ${counts[status]}`));
      legend.append(key);
    }
    bar.style.display = total ? "" : "none";
    if (s.best && s.best.run_id) {
      const params = Object.entries(s.best.params || {}).map(([k, v]) => `${k}=${v}`).join(", ");
      best.textContent = `Best so far: ${s.metric} = ${Number(s.best.value).toPrecision(6)} (run ${s.best.number}${params ? ", " + params : ""})`;
    } else {
      best.textContent = total ? "Waiting for the primary metric..." : "No runs scheduled yet";
    }
    cancel.style.display = s.active ? "" : "none";
    cancel.disabled = !!s.cancel_requested;
  }
  model.on("change:summary", update);
  update();
  return () => model.off("change:summary", update);
}

export default { render };
