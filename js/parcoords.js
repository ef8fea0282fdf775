// Parallel coordinates of a sweep: one vertical axis per hyperparameter plus the primary
// metric, one polyline per child coloured by its metric (better = darker), the best child
// drawn thick. Pure SVG from traits; labels are set with textContent.
const SVG = "http://www.w3.org/2000/svg";

function node(tag, attrs, parent) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (parent) parent.append(el);
  return el;
}

function scaler(values, log) {
  const finite = values.filter((v) => typeof v === "number" && isFinite(v) && (!log || v > 0));
  if (!finite.length) return () => null;
  const f = log ? Math.log10 : (v) => v;
  let lo = Math.min(...finite.map(f)), hi = Math.max(...finite.map(f));
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  return (v) => (typeof v === "number" && isFinite(v) && (!log || v > 0) ? (f(v) - lo) / (hi - lo) : null);
}

function color(t) {
  // A short viridis-like ramp; t in [0, 1], 1 = best.
  const stops = [[253, 231, 37], [94, 201, 98], [33, 145, 140], [59, 82, 139], [68, 1, 84]];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `rgb(${c.join(",")})`;
}

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-parcoords");
  const title = document.createElement("div");
  title.className = "rw-title";
  title.textContent = "Parallel coordinates";
  root.append(title);
  const holder = document.createElement("div");
  root.append(holder);

  function update() {
    const dims = model.get("dimensions") || [];
    const lines = model.get("lines") || [];
    holder.replaceChildren();
    root.style.display = dims.length ? "" : "none";
    if (!dims.length) return;
    const width = Math.max(360, root.clientWidth || 720), height = 260;
    const top = 24, bottom = 24, left = 40, right = 40;
    const svg = node("svg", { width, height, class: "rw-parcoords-svg", role: "img" }, holder);
    const best = lines.find((l) => l.best);
    svg.setAttribute("aria-label", `Parallel coordinates of ${lines.length} runs over ` +
      `${dims.map((d) => d.name).join(", ")}` + (best ? `; best: ${best.label}` : ""));
    const xs = dims.map((_, i) => left + (i * (width - left - right)) / Math.max(1, dims.length - 1));
    const scales = dims.map((d, i) => scaler(lines.map((l) => l.values[i]), d.log));
    const y = (t) => top + (1 - t) * (height - top - bottom);
    const ordered = [...lines].sort((a, b) => (a.best ? 1 : 0) - (b.best ? 1 : 0));
    for (const line of ordered) {
      const points = [];
      line.values.forEach((v, i) => { const t = scales[i](v); if (t != null) points.push(`${xs[i]},${y(t)}`); });
      if (points.length < 2) continue;
      const path = node("polyline", {
        points: points.join(" "), fill: "none",
        stroke: line.best ? "#d62728" : color(line.quality ?? 0.5),
        "stroke-width": line.best ? 3 : 1.3, "stroke-opacity": line.best ? 1 : 0.75,
      }, svg);
      const tip = node("title", {}, path);
      tip.textContent = line.label;
      if (line.best) path.classList.add("rw-best-line");
    }
    dims.forEach((d, i) => {
      node("line", { x1: xs[i], x2: xs[i], y1: top, y2: height - bottom, class: "rw-axis" }, svg);
      const label = node("text", { x: xs[i], y: 14, "text-anchor": "middle", class: "rw-axis-label" }, svg);
      label.textContent = d.name + (d.log ? " (log)" : "");
      const finite = lines.map((l) => l.values[i]).filter((v) => typeof v === "number" && isFinite(v));
      if (finite.length) {
        const lo = node("text", { x: xs[i] + 4, y: height - bottom + 14, class: "rw-axis-tick" }, svg);
        lo.textContent = Number(Math.min(...finite).toPrecision(3));
        const hi = node("text", { x: xs[i] + 4, y: top - 2 + 12, class: "rw-axis-tick" }, svg);
        hi.textContent = Number(Math.max(...finite).toPrecision(3));
      }
    });
  }
  // The same data as a table, for screen readers (visually hidden).
  const table = document.createElement("table");
  table.className = "rw-sr-only";
  root.append(table);
  function describe() {
    const dims = model.get("dimensions") || [];
    const lines = model.get("lines") || [];
    table.replaceChildren();
    if (!dims.length) return;
    const caption = document.createElement("caption");
    caption.textContent = "Parallel coordinates data";
    const head = document.createElement("tr");
    for (const text of ["run", ...dims.map((d) => d.name)]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.append(th);
    }
    table.append(caption, head);
    for (const line of lines.slice(0, 200)) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = line.label + (line.best ? " (best)" : "");
      tr.append(th);
      for (const value of line.values) {
        const td = document.createElement("td");
        td.textContent = value == null ? "" : String(Number(Number(value).toPrecision(6)));
        tr.append(td);
      }
      table.append(tr);
    }
  }
  model.on("change:dimensions", update);
  model.on("change:lines", update);
  model.on("change:dimensions", describe);
  model.on("change:lines", describe);
  update();
  describe();
  const observer = new ResizeObserver(() => update());
  observer.observe(root);
  return () => {
    observer.disconnect();
    for (const fn of [update, describe]) { model.off("change:dimensions", fn); model.off("change:lines", fn); }
  };
}

export default { render };
