// Pipeline graph: steps and data as boxes at the positions the kernel laid out (igraph's
// Sugiyama layout), edges as arrows labelled with the data's names, each step coloured by
// its status and marked when reused. Clicking a step that has a run (or Enter on it)
// selects it: the kernel opens that step's view. No layout or business logic here.
const SVG = "http://www.w3.org/2000/svg";

function el(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
  if (parent) parent.append(node);
  return node;
}

function clip(text, width) {
  const max = Math.max(4, Math.floor(width / 7));
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-pipeline");
  const title = document.createElement("div");
  title.className = "rw-title";
  title.textContent = "Pipeline";
  const summary = document.createElement("div");
  summary.className = "rw-pipeline-summary";
  const scroller = document.createElement("div");
  scroller.className = "rw-pipeline-scroll";
  const empty = document.createElement("div");
  empty.className = "rw-muted";
  root.append(title, summary, scroller, empty);

  function update() {
    const graph = model.get("graph") || {};
    const nodes = graph.nodes || [];
    const edges = graph.edges || [];
    scroller.replaceChildren();
    summary.replaceChildren();
    empty.textContent = nodes.length ? "" : "Waiting for pipeline...";
    for (const [status, count] of Object.entries(graph.counts || {})) {
      const item = document.createElement("span");
      item.className = "rw-pipeline-count";
      item.dataset.status = status;
      item.textContent = `${status}: ${count}`;
      summary.append(item);
    }
    if (!nodes.length) return;
    const width = Math.ceil(graph.width || 0), height = Math.ceil(graph.height || 0);
    const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `Pipeline graph: ${nodes.filter((n) => n.kind === "step").map((n) => n.label).join("; ")}` });
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "rw-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "rw-pipeline-arrowhead" }, marker);
    const byId = Object.fromEntries(nodes.map((n) => [n.id, n]));
    const selected = model.get("selected_id");
    for (const edge of edges) {
      const points = edge.points.map((p) => [p[0], p[1]]);
      const from = byId[edge.from], to = byId[edge.to];
      if (!from || !to || points.length < 2) continue;
      points[0] = [points[0][0], points[0][1] + from.height / 2];
      points[points.length - 1] = [points[points.length - 1][0], points[points.length - 1][1] - to.height / 2];
      el("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "rw-pipeline-edge",
        "marker-end": "url(#rw-arrow)" }, svg);
      if (edge.label) {
        const a = points[points.length - 2], b = points[points.length - 1];
        const label = el("text", { x: (a[0] + b[0]) / 2 + 4, y: (a[1] + b[1]) / 2, class: "rw-pipeline-edge-label" }, svg);
        label.textContent = clip(edge.label, 120);
      }
    }
    for (const node of nodes) {
      const g = el("g", { class: `rw-pipeline-node rw-pipeline-${node.kind}`, "data-node": node.id,
        "data-status": node.status || "" }, svg);
      if (node.reused) g.classList.add("rw-pipeline-reused");
      if (node.run_id && node.run_id === selected) g.classList.add("rw-selected");
      const x = node.x - node.width / 2, y = node.y - node.height / 2;
      el("rect", { x, y, width: node.width, height: node.height, rx: node.kind === "step" ? 6 : node.height / 2,
        fill: node.color, stroke: node.border }, g);
      const text = el("text", { x: node.x, y: node.kind === "step" ? node.y - 4 : node.y + 4, "text-anchor": "middle" }, g);
      text.textContent = clip(node.name, node.width);
      if (node.kind === "step") {
        const status = el("text", { x: node.x, y: node.y + 13, "text-anchor": "middle", class: "rw-pipeline-status" }, g);
        status.textContent = node.reused ? "♻ Reused" : (node.status === "NotStarted" ? "Not started" : node.status);
      }
      const tip = el("title", {}, g);
      tip.textContent = node.kind === "step" ? node.label : `${node.name} (${node.detail || node.kind})`;
      if (node.kind === "step" && node.run_id) {
        g.classList.add("rw-clickable");
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button");
        const choose = () => {
          model.set("selected_id", node.run_id === model.get("selected_id") ? "" : node.run_id);
          model.save_changes();
        };
        g.addEventListener("click", choose);
        g.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(); }
        });
      }
    }
    scroller.append(svg);
  }
  model.on("change:graph", update);
  model.on("change:selected_id", update);
  update();
  return () => {
    model.off("change:graph", update);
    model.off("change:selected_id", update);
  };
}

export default { render };
