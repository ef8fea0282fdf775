// Reports which chart cards of its grid are in the window, as the card numbers of their
// "rw-card-<n>" classes: the kernel redraws those at each refresh and the others when
// they come into view, so a refresh costs the page what it shows.
function render({ model, el }) {
  el.style.display = "none";
  const PREFIX = "rw-card-";
  const inView = new Set();    // card elements intersecting the window
  const observed = new Set();
  let grid = null, timer = null, retry = null, last = null, rechecks = 0;
  const cardOf = (node) => {
    const cls = [...node.classList].find((c) => c.startsWith(PREFIX));
    return cls ? cls.slice(PREFIX.length) : null;
  };
  function report() {
    timer = null;
    // A card's classes can arrive after the card itself: look again shortly (for 2 s;
    // the lead card, the properties, never has a number).
    if (rechecks > 0 && [...observed].some((node) => cardOf(node) === null)) {
      rechecks -= 1;
      schedule(200);
    }
    const ids = [...inView].map(cardOf).filter((id) => id !== null).sort();
    const text = ids.join(",");
    if (text === last) return;
    last = text;
    model.set("visible", ids);
    try { model.save_changes(); } catch (e) { /* no kernel (saved state): nothing to tell */ }
  }
  function schedule(delay) { if (timer === null) timer = setTimeout(report, delay); }
  const io = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) inView.add(entry.target); else inView.delete(entry.target);
    }
    schedule(100);
  });
  function scan() {
    for (const card of grid.children) {
      if (!observed.has(card)) { observed.add(card); io.observe(card); }
    }
    for (const card of [...observed]) {
      if (card.parentElement !== grid) { io.unobserve(card); observed.delete(card); inView.delete(card); }
    }
    rechecks = 10;
    schedule(100);
  }
  const mutations = new MutationObserver(scan);
  function start() {
    grid = el.parentElement && el.parentElement.querySelector(".rw-chart-grid");
    if (!grid) { retry = setTimeout(start, 200); return; }
    scan();
    mutations.observe(grid, { childList: true });
  }
  start();
  // The kernel forgets the report when the page of charts changes: say it again.
  const resend = () => { if (model.get("visible") == null) { last = null; schedule(100); } };
  model.on("change:visible", resend);
  return () => {
    io.disconnect(); mutations.disconnect(); clearTimeout(timer); clearTimeout(retry);
    model.off("change:visible", resend);
  };
}

export default { render };
