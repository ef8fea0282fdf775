// "Run Properties": status, times, arguments, tags, properties and single-valued metrics.
// A row is [label, text] or [label, text, {time}] / [label, text, {created, end, now}]:
// times are shown in the viewer's zone and a running duration ticks (format.js).
function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-properties");
  const clock = rwClock();
  const title = document.createElement("div");
  title.className = "rw-title";
  title.textContent = "Run Properties";
  const table = document.createElement("table");
  root.append(title, table);
  let running = null;  // [cell, created] of a duration still growing
  function update() {
    table.replaceChildren();
    running = null;
    for (const [label, value, extra] of model.get("rows") || []) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = label;
      th.title = label;
      const td = document.createElement("td");
      td.textContent = value;
      if (extra && extra.time != null) td.textContent = rwTime(extra.time);
      if (extra && extra.created != null) {
        clock.sync(extra.now);
        if (extra.end != null) td.textContent = rwDuration(extra.end - extra.created);
        else { running = [td, extra.created]; tick(); }
      }
      if (label === "Status") td.className = rwStatusClass(value);
      tr.append(th, td);
      table.append(tr);
    }
  }
  function tick() {
    if (running) rwSetText(running[0], rwDuration(clock.now() - running[1]));
  }
  model.on("change:rows", update);
  update();
  const stopTicking = rwEverySecond(tick);
  return () => { stopTicking(); model.off("change:rows", update); };
}

export default { render };
