// A chart's menu (the "⋮" button above each chart): "Ignore outliers" (a trait the kernel
// draws with), "Save PNG" and "Save SVG" (the bqplot figure's own export, made in the
// browser: they work without a kernel, e.g. on a saved page) and "Save CSV" (the series the
// chart draws, with run ids, made by the kernel and downloaded here). Keyboard: Enter or
// Space opens it, arrows move, Escape closes. Renders traits and sends intents only.
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function download(name, blob) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function safeName(text) {
  return (text || "chart").replace(/[^\w.-]+/g, "_").slice(0, 80) || "chart";
}

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-chart-menu");
  const button = el("button", "rw-menu-button", "⋮");
  button.type = "button";
  button.setAttribute("aria-haspopup", "menu");
  button.setAttribute("aria-expanded", "false");
  const menu = el("div", "rw-menu");
  menu.setAttribute("role", "menu");
  menu.hidden = true;
  const outliers = el("button", "rw-menu-item", "Ignore outliers");
  outliers.type = "button";
  outliers.setAttribute("role", "menuitemcheckbox");
  const items = [outliers];
  for (const [format, label] of [["png", "Save PNG"], ["svg", "Save SVG"], ["csv", "Save CSV"]]) {
    const item = el("button", "rw-menu-item", label);
    item.type = "button";
    item.setAttribute("role", "menuitem");
    item.dataset.format = format;
    items.push(item);
  }
  menu.append(...items);
  const status = el("span", "rw-menu-status");
  status.setAttribute("role", "status");
  root.append(button, menu, status);
  let waiting = null;

  function label() {
    const title = model.get("title") || "chart";
    button.setAttribute("aria-label", `Chart menu: ${title}`);
    button.title = `Ignore outliers, save ${title} as PNG, SVG or CSV`;
    menu.setAttribute("aria-label", `Chart menu: ${title}`);
    outliers.setAttribute("aria-checked", model.get("ignore_outliers") ? "true" : "false");
    outliers.textContent = (model.get("ignore_outliers") ? "✓ " : "") + "Ignore outliers";
  }
  function open(show) {
    menu.hidden = !show;
    button.setAttribute("aria-expanded", show ? "true" : "false");
    if (show) items[0].focus();
  }
  function say(text) {
    status.textContent = text;
    if (text) setTimeout(() => { if (status.textContent === text) status.textContent = ""; }, 6000);
  }
  async function figureModel() {
    const ref = model.get("figure") || "";
    const id = ref.startsWith("IPY_MODEL_") ? ref.slice("IPY_MODEL_".length) : ref;
    return id ? model.widget_manager.get_model(id) : null;
  }
  async function act(format) {
    const name = safeName(model.get("title"));
    if (format === "csv") {
      clearTimeout(waiting);
      model.send({ event: "csv" });
      say("Preparing the CSV…");
      waiting = setTimeout(() => say("The CSV is made by the notebook's kernel: run the notebook to save it."), 8000);
      return;
    }
    const figure = await figureModel();
    if (!figure) { say("This chart cannot be saved here."); return; }
    figure.trigger(format === "png" ? "save_png" : "save_svg", `${name}.${format}`);
  }
  button.addEventListener("click", () => open(menu.hidden));
  outliers.addEventListener("click", () => {
    model.set("ignore_outliers", !model.get("ignore_outliers"));
    model.save_changes();
    label();
  });
  for (const item of items.slice(1)) {
    item.addEventListener("click", () => { open(false); button.focus(); act(item.dataset.format); });
  }
  menu.addEventListener("keydown", (event) => {
    const index = items.indexOf(document.activeElement);
    if (event.key === "Escape") { open(false); button.focus(); event.preventDefault(); }
    else if (event.key === "ArrowDown") { items[(index + 1) % items.length].focus(); event.preventDefault(); }
    else if (event.key === "ArrowUp") { items[(index - 1 + items.length) % items.length].focus(); event.preventDefault(); }
  });
  const outside = (event) => { if (!root.contains(event.target)) open(false); };
  document.addEventListener("click", outside);
  function onMessage(message) {
    if (message && message.csv != null) {
      clearTimeout(waiting);
      download(message.filename || `${safeName(model.get("title"))}.csv`, new Blob([message.csv], { type: "text/csv" }));
      say("");
    } else if (message && message.error) {
      clearTimeout(waiting);
      say(message.error);
    }
  }
  model.on("msg:custom", onMessage);
  model.on("change:title", label);
  model.on("change:ignore_outliers", label);
  label();
  return () => {
    clearTimeout(waiting);
    document.removeEventListener("click", outside);
    model.off("msg:custom", onMessage);
    model.off("change:title", label);
    model.off("change:ignore_outliers", label);
  };
}

export default { render };
