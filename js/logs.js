// "Output Logs": choose a log file, follow the active one, read its last part. The text
// arrives as a trait (already escaped by being set with textContent here). With no log
// file (a run that failed before writing one) there is nothing to choose: only the
// message shows. While "Show Active log" is ticked the text stays scrolled to its end,
// also when the panel is first laid out (a reopened notebook).
function render({ model, el: root }) {
  root.classList.add("rw-panel", "rw-logs");
  const head = document.createElement("div");
  head.className = "rw-logs-head";
  const title = document.createElement("span");
  title.className = "rw-title";
  title.textContent = "Output Logs";
  const select = document.createElement("select");
  select.setAttribute("aria-label", "Log file");
  const followLabel = document.createElement("label");
  const follow = document.createElement("input");
  follow.type = "checkbox";
  followLabel.append(follow, document.createTextNode(" Show Active log"));
  head.append(title, select, followLabel);
  const current = document.createElement("div");
  current.className = "rw-muted";
  const text = document.createElement("pre");
  text.className = "rw-log-text";
  text.tabIndex = 0;  // a scrolling region keyboard users can reach
  text.setAttribute("role", "log");
  text.setAttribute("aria-label", "Log text");
  root.append(head, current, text);
  // Laid out later than rendered (a restored notebook, a hidden tab): scroll then.
  const sized = new ResizeObserver(() => {
    if (text.clientHeight > 0 && model.get("follow")) text.scrollTop = text.scrollHeight;
  });
  sized.observe(text);

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
    select.style.display = followLabel.style.display = files.length ? "" : "none";
    follow.checked = !!model.get("follow");
    current.textContent = selected;
    current.style.display = selected ? "" : "none";
    const atBottom = text.scrollHeight - text.scrollTop - text.clientHeight < 20;
    text.textContent = model.get("text") || "";
    if (atBottom || model.get("follow")) text.scrollTop = text.scrollHeight;
  }
  for (const name of ["files", "selected", "follow", "text"]) model.on(`change:${name}`, update);
  update();
  return () => {
    sized.disconnect();
    for (const name of ["files", "selected", "follow", "text"]) model.off(`change:${name}`, update);
  };
}

export default { render };
