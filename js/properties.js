// "Run Properties": status, times, arguments, tags, properties and single-valued metrics.
const COLORS = { Completed: "#65B806", Failed: "#A80000", Canceled: "#A80000" };

function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-properties");
  const title = document.createElement("div");
  title.className = "rw-title";
  title.textContent = "Run Properties";
  const table = document.createElement("table");
  root.append(title, table);
  function update() {
    table.replaceChildren();
    for (const [label, value] of model.get("rows") || []) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = label;
      th.title = label;
      const td = document.createElement("td");
      td.textContent = value;
      if (label === "Status") td.style.color = COLORS[value] || "#015CDA";
      tr.append(th, td);
      table.append(tr);
    }
  }
  model.on("change:rows", update);
  update();
  return () => model.off("change:rows", update);
}

export default { render };
