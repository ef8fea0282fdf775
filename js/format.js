// Shared by every panel (prepended to each module by run_widgets/widgets/_assets.py):
// one time format, one duration format, one clock, one status colour scheme.

// The viewer's local time with its zone: "2026-11-30 12:10:41 GMT+1".
function rwTime(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  const d = new Date(seconds * 1000);
  const p = (n) => String(n).padStart(2, "0");
  let zone = "";
  try {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(d).find((x) => x.type === "timeZoneName");
    zone = part ? ` ${part.value}` : "";
  } catch (e) { zone = ""; }
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${zone}`;
}

// H:MM:SS (or "N days, H:MM:SS"), as the kernel's duration_text.
function rwDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  let s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400); s -= days * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const hms = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return days ? `${days} day${days > 1 ? "s" : ""}, ${hms}` : hms;
}

// The kernel's clock, as seen now: every running duration is measured against the time
// the kernel sent with its last update (plus the time since it arrived), so durations
// agree with the kernel even when the browser's clock is off. One clock for the page:
// panels synced by different messages (each late by its own delivery time) would
// otherwise tick a second apart.
function rwClock() {
  const shared = globalThis.__rwClock || (globalThis.__rwClock = { kernel: null, received: 0 });
  return {
    sync(now) {
      if (now != null && isFinite(now)) { shared.kernel = now; shared.received = Date.now() / 1000; }
    },
    now() {
      const here = Date.now() / 1000;
      return shared.kernel == null ? here : shared.kernel + (here - shared.received);
    },
  };
}

const RW_ACTIVE = new Set(["NotStarted", "Queued", "Preparing", "Starting", "Running", "Finalizing", "CancelRequested"]);

// A CSS class per status family; the colours (light and dark themes) are in theme.css.
function rwStatusClass(status) {
  if (status === "Completed") return "rw-status-ok";
  if (status === "Failed" || status === "Canceled") return "rw-status-bad";
  if (status === "NotStarted") return "rw-status-idle";
  return "rw-status-active";
}

// One 1 s timer for every ticking duration on the page: the panels' ticks run in the same
// task, so the page lays out and paints once a second, not once per panel.
// Returns the function that stops this callback.
function rwEverySecond(callback) {
  const ticker = globalThis.__rwTicker || (globalThis.__rwTicker = { callbacks: new Set(), timer: null });
  ticker.callbacks.add(callback);
  if (ticker.timer === null) {
    ticker.timer = setInterval(() => { for (const fn of ticker.callbacks) fn(); }, 1000);
  }
  return () => {
    ticker.callbacks.delete(callback);
    if (!ticker.callbacks.size && ticker.timer !== null) { clearInterval(ticker.timer); ticker.timer = null; }
  };
}

// Set a node's text only when it differs (an equal write still invalidates layout).
function rwSetText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// The children of ``parent`` become ``nodes``, in order; a node already in its place is
// not touched. Tables re-rendered on every refresh reuse the rows that did not change, so
// a click, or the keyboard focus, on one of them is not lost to a refresh.
function rwPlaceChildren(parent, nodes) {
  nodes.forEach((node, i) => {
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
  });
  while (parent.children.length > nodes.length) parent.lastElementChild.remove();
}

// A notebook reopened with saved widget state is marked modified before anything runs:
// JupyterLab's widget manager (@jupyter-widgets/jupyterlab-manager) calls setDirty() for
// every model it registers, also for the models it restores from the notebook itself when
// "Save Widget State Automatically" is on. Restoring is not a change. When a run_widgets
// view is drawn from restored state (its model has no live comm), the notebook is marked
// clean again, once, if it holds no edit yet (an empty undo history, no cell run).
// `model.get("model_ref")` is the panel's own model id (set by the kernel).
async function rwRestoredIsNoChange(model) {
  try {
    const manager = model.widget_manager;
    const context = manager && manager.context;
    const ref = model.get("model_ref");
    if (!context || !context.model || !ref || context.__rwRestoreChecked) return;
    const own = await manager.get_model(ref);
    if (!own || own.comm_live) return;  // a live view: the notebook really changed
    context.__rwRestoreChecked = true;
    const shared = context.model.sharedModel;
    const edits = shared && shared.undoManager ? shared.undoManager.undoStack.length : 0;
    const ran = (context.model.cells ? [...context.model.cells] : [])
      .some((cell) => cell.sharedModel && cell.sharedModel.execution_state === "running");
    if (context.model.dirty && edits === 0 && !ran) context.model.dirty = false;
  } catch (error) { /* another front-end (Voilà, nbconvert): nothing to mark */ }
}
