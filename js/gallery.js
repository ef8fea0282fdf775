// Thumbnails of logged images and small tables of string/table metrics.
function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-gallery");
  function update() {
    root.replaceChildren();
    const images = model.get("images") || [];
    if (images.length) {
      const title = document.createElement("div");
      title.className = "rw-title";
      title.textContent = "Images";
      const strip = document.createElement("div");
      strip.className = "rw-thumbs";
      for (const image of images) {
        const figure = document.createElement("figure");
        const img = document.createElement("img");
        img.src = image.src;           // a data: URL built by the kernel
        img.alt = image.name;
        img.title = image.title || image.name;
        const caption = document.createElement("figcaption");
        caption.textContent = image.name;
        figure.append(img, caption);
        strip.append(figure);
      }
      root.append(title, strip);
    }
    for (const table of model.get("tables") || []) {
      const title = document.createElement("div");
      title.className = "rw-title";
      title.textContent = table.name;
      const element = document.createElement("table");
      const head = document.createElement("tr");
      for (const column of table.columns) {
        const th = document.createElement("th");
        th.textContent = column;
        head.append(th);
      }
      element.append(head);
      for (const row of table.rows) {
        const tr = document.createElement("tr");
        for (const cell of row) {
          const td = document.createElement("td");
          td.textContent = cell == null ? "" : String(cell);
          tr.append(td);
        }
        element.append(tr);
      }
      root.append(title, element);
    }
    root.style.display = root.childElementCount ? "" : "none";
  }
  model.on("change:images", update);
  model.on("change:tables", update);
  update();
  return () => { model.off("change:images", update); model.off("change:tables", update); };
}

export default { render };
