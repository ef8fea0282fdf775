// "Output Logs": choose a log file, follow the active one, read its last part. The text
// arrives as a trait (already escaped by being set with textContent here).
function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-logs");
  const head = document.createElement("div");
  head.className = "rw-logs-head";
  const title = document.createElement("span");
  title.className = "rw-title";
  title.textContent = "Output Logs";
  const select = document.createElement("select");
  const followLabel = document.createElement("label");
  const follow = document.createElement("input");
  follow.type = "checkbox";
  followLabel.append(follow, document.createTextNode(" Show Active log"));
  head.append(title, select, followLabel);
  const current = document.createElement("div");
  current.className = "rw-muted";
  const text = document.createElement("pre");
  text.className = "rw-log-text";
  root.append(head, current, text);

  select.addEventListener("change", () => {
    model.set("follow", false);
    model.set("selected", select.value);
    model.save_changes();
  });
  follow.addEventListener("change", () => {
    model.set("follow", follow.checked);
    model.save_changes();
  });

  function update() {
    const files = model.get("files") || [];
    const selected = model.get("selected") || "";
    select.replaceChildren();
    for (const name of files) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      option.selected = name === selected;
      select.append(option);
    }
    select.disabled = files.length === 0;
    follow.checked = !!model.get("follow");
    current.textContent = selected;
    const atBottom = text.scrollHeight - text.scrollTop - text.clientHeight < 20;
    text.textContent = model.get("text") || "";
    if (atBottom || model.get("follow")) text.scrollTop = text.scrollHeight;
  }
  for (const name of ["files", "selected", "follow", "text"]) model.on(`change:${name}`, update);
  update();
  return () => { for (const name of ["files", "selected", "follow", "text"]) model.off(`change:${name}`, update); };
}

export default { render };
