"""Browser-side cost of a long live view: real JupyterLab, headless Debian chromium.

A submitted script logs 30 metrics, one point per metric per second, for ``--minutes``;
``RunDetails(run, refresh_interval=2)`` shows it in a real JupyterLab. Every 2 s (one
refresh) the page is sampled through the Chrome DevTools Protocol:

* main-thread work: the growth of ``TaskDuration`` (``Performance.getMetrics``) over the
  window, i.e. the wall time of all the page's main-thread tasks (script, style, layout,
  paint) in it, and of ``ThreadTime``, the main thread's CPU time (on a loaded machine a
  task's wall time includes the time its thread waited for a core; its CPU time does
  not). Both are also measured on the idle page first (the notebook open, its kernel
  idle, no view: JupyterLab's own work), in the same run: the view's share is the total
  less that baseline;
* where it goes: a 10 s Chrome trace (``Tracing``) of the idle page and of the view after
  minute 1, main-thread self time per event name (Layout, Paint, Layerize, style
  recalculation, GC, script per file), with the frame count (``--trace-file`` keeps it
  for DevTools' Performance panel);
* bytes: the widget messages' sizes received on the kernel websocket in the window;
* JS heap (``JSHeapUsedSize`` after a forced garbage collection) at minute 1 and the end;
* DOM nodes (``Nodes``) at minute 1 and the end.

Targets (issue 11 / DESIGN.md): heap at the end ≤ 1.5× minute 1; main-thread work per
refresh ≤ 50 ms median; bytes per refresh proportional to the new points (the last
minute's median bytes per refresh about the same as the first's, while the history grew
tenfold); no DOM growth. The anchor, measured in the same run with ``--anchor``, is the
same run viewed with every chart on one page and each refresh resending whole series
(the behaviour before issue 11).

Usage::

    .venv/bin/python benchmarks/bench_browser.py --minutes 10
    .venv/bin/python benchmarks/bench_browser.py --minutes 2 --anchor
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from harness import browser_page, jupyter_server, open_notebook, run_all  # noqa: E402

SCRIPT = """\
import sys, time, math
from run_widgets import Run
run = Run.get_context()
seconds = int(sys.argv[1])
start = time.time()
for step in range(seconds):
    for m in range(30):
        run.log(f"m{m}", math.sin(step / 20 + m) + m / 10 + 1.5)
    time.sleep(max(0.0, start + step + 1 - time.time()))
"""
WINDOW_S = 2.0
IDLE_S = 30.0  # the idle-page baseline: the notebook open, kernel idle, no view yet
TRACE_CATEGORIES = ",".join(
    [
        "devtools.timeline",
        "disabled-by-default-devtools.timeline",
        "v8.execute",
        "toplevel",
    ]
)


def trace(page: Any, cdp: Any, seconds: float) -> list[dict[str, Any]]:
    """Trace events of ``seconds`` of the page (Chrome DevTools Protocol ``Tracing``)."""
    events: list[dict[str, Any]] = []
    done: list[bool] = []
    cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
    cdp.on("Tracing.tracingComplete", lambda e: done.append(True))
    cdp.send("Tracing.start", {"categories": TRACE_CATEGORIES, "transferMode": "ReportEvents"})
    page.wait_for_timeout(seconds * 1000)
    cdp.send("Tracing.end")
    while not done:
        page.wait_for_timeout(100)
    return events


def breakdown(events: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    """Main-thread self time per event name, in ms per refresh window.

    Only the renderer main threads (``CrRendererMain``); an event's self time is its
    duration less its children's, so the names add up to the busy time.
    """
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e.get("args", {}).get("name") == "CrRendererMain"
    }
    spans = sorted(
        (
            (e["ts"], e["ts"] + e["dur"], e["name"], e.get("args", {}))
            for e in events
            if e.get("ph") == "X" and (e["pid"], e["tid"]) in main and "dur" in e
        ),
        key=lambda s: (s[0], -s[1]),
    )
    own: dict[str, float] = {}
    stack: list[list[Any]] = []  # [end, key, child time, duration]

    def pop() -> None:
        _end, key, children, dur = stack.pop()
        own[key] = own.get(key, 0.0) + dur - children

    for start, end, name, args in spans:
        while stack and stack[-1][0] <= start:
            pop()
        key = name
        data = args.get("data") or {}
        if name in ("FunctionCall", "EvaluateScript", "v8.compile") and data.get("url"):
            key = f"{name} {data['url'].rsplit('/', 1)[-1][:40]}"
        if stack:
            stack[-1][2] += end - start
        stack.append([end, key, 0.0, end - start])
    while stack:
        pop()
    windows = seconds / WINDOW_S
    frames = sum(1 for _, _, name, _ in spans if name == "Commit")
    # Top-level tasks: wall time, and the thread's CPU time (``tdur``), which a loaded
    # machine inflates far less (a descheduled thread's task still runs on the wall clock).
    wall = cpu = 0.0
    last_end = -1.0
    for e in sorted(
        (e for e in events if e.get("ph") == "X" and (e["pid"], e["tid"]) in main and "dur" in e),
        key=lambda e: (e["ts"], -e["dur"]),
    ):
        if e["ts"] >= last_end:
            wall += e["dur"]
            cpu += e.get("tdur", e["dur"])
            last_end = e["ts"] + e["dur"]
    result = {k: v / 1000 / windows for k, v in sorted(own.items(), key=lambda kv: -kv[1])}
    return {
        "TOTAL main-thread tasks, wall ms": wall / 1000 / windows,
        "TOTAL main-thread tasks, CPU ms": cpu / 1000 / windows,
        "frames (Commit events, count)": frames / windows,
        **result,
    }


def notebook(minutes: float, anchor: bool) -> dict[str, Any]:
    settings = "{'charts_per_page': 30}" if anchor else "None"
    setup = (
        "import os\n"
        + ("os.environ['RUN_WIDGETS_TAIL_MAX'] = '0'\n" if anchor else "")
        + "from run_widgets import Experiment, RunDetails, ScriptRunConfig, Workspace\n"
        "exp = Experiment(Workspace.from_config(), 'browser-bench')\n"
        "run = exp.submit(ScriptRunConfig(source_directory='.', script='logger.py',\n"
        f"    arguments=[{int(minutes * 60) + 30}]))"
    )
    show = f"RunDetails(run, refresh_interval=2, widget_settings={settings})"
    cells = [setup, show]
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def measure(
    minutes: float, anchor: bool, trace_s: float = 0.0, trace_file: Path | None = None
) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="rw-bench-browser-"))
    root = base / "lab"
    root.mkdir()
    (root / "logger.py").write_text(SCRIPT)
    (root / "bench.ipynb").write_text(json.dumps(notebook(minutes, anchor)))
    env = {"RUN_WIDGETS_HOME": str(base / "home")}
    frames: list[tuple[float, int]] = []
    samples: list[dict[str, float]] = []
    marks: dict[str, dict[str, float]] = {}
    view_breakdown: dict[str, float] = {}
    with jupyter_server(root, env=env) as server, browser_page(viewport=(1440, 900)) as page:

        def on_socket(socket: Any) -> None:
            def received(payload: Any) -> None:
                size = len(payload)
                text = payload if isinstance(payload, str) else ""
                # Only widget traffic: comm messages (binary frames carry the arrays).
                if not text or '"comm_msg"' in text[:600]:
                    frames.append((time.time(), size))

            socket.on("framereceived", received)

        page.on("websocket", on_socket)
        open_notebook(page, server, "bench.ipynb")
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")

        def metrics() -> dict[str, float]:
            got = cdp.send("Performance.getMetrics")["metrics"]
            return {m["name"]: float(m["value"]) for m in got}

        def heap_after_gc() -> dict[str, float]:
            cdp.send("HeapProfiler.collectGarbage")
            time.sleep(0.5)
            return metrics()

        # The idle page, same page and run: what JupyterLab costs with no view in it.
        idle: list[float] = []
        idle_cpu: list[float] = []
        previous, previous_t = metrics(), time.time()
        while len(idle) < IDLE_S / WINDOW_S:
            time.sleep(max(0.0, previous_t + WINDOW_S - time.time()))
            current, now = metrics(), time.time()
            idle.append(1000 * (current["TaskDuration"] - previous["TaskDuration"]))
            idle_cpu.append(1000 * (current["ThreadTime"] - previous["ThreadTime"]))
            previous, previous_t = current, now
        idle_breakdown = breakdown(trace(page, cdp, trace_s), trace_s) if trace_s else {}
        run_all(page, "bench.ipynb")
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-run-details .bqplot.figure').length >= 12",
            timeout=180_000,
        )
        start = time.time()
        previous = metrics()
        previous_t = start
        end = start + minutes * 60
        while time.time() < end:
            time.sleep(max(0.0, previous_t + WINDOW_S - time.time()))
            now = time.time()
            current = metrics()
            sent = sum(size for t, size in frames if previous_t <= t < now)
            samples.append(
                {
                    "t": now - start,
                    "task_ms": 1000 * (current["TaskDuration"] - previous["TaskDuration"]),
                    "script_ms": 1000 * (current["ScriptDuration"] - previous["ScriptDuration"]),
                    # CPU time of the page's main thread: what a loaded machine inflates least.
                    "cpu_ms": 1000 * (current["ThreadTime"] - previous["ThreadTime"]),
                    "bytes": float(sent),
                    "nodes": current["Nodes"],
                    "heap": current["JSHeapUsedSize"],
                }
            )
            previous, previous_t = current, now
            if "minute1" not in marks and now - start >= 60:
                marks["minute1"] = heap_after_gc()
                if trace_s:
                    events = trace(page, cdp, trace_s)
                    view_breakdown = breakdown(events, trace_s)
                    if trace_file:
                        trace_file.write_text(json.dumps({"traceEvents": events}))
                previous, previous_t = metrics(), time.time()
        marks["end"] = heap_after_gc()
        page.locator(".rw-run-details").first.screenshot(
            path=str(
                ROOT
                / "tests"
                / "browser"
                / "artifacts"
                / f"bench-{'anchor' if anchor else 'view'}.png"
            )
        )
    minute = [s for s in samples if s["t"] <= 60]
    last = [s for s in samples if s["t"] >= samples[-1]["t"] - 60]
    one = marks.get("minute1", marks["end"])
    return {
        "variant": "anchor (all charts, whole series)" if anchor else "run_widgets",
        "minutes": minutes,
        "refreshes": len(samples),
        "task_ms_median": statistics.median(s["task_ms"] for s in samples),
        "idle_task_ms_median": statistics.median(idle),
        "view_task_ms_median": statistics.median(s["task_ms"] for s in samples)
        - statistics.median(idle),
        "task_ms_p90": sorted(s["task_ms"] for s in samples)[int(0.9 * (len(samples) - 1))],
        "cpu_ms_median": statistics.median(s["cpu_ms"] for s in samples),
        "idle_cpu_ms_median": statistics.median(idle_cpu),
        "view_cpu_ms_median": statistics.median(s["cpu_ms"] for s in samples)
        - statistics.median(idle_cpu),
        "script_ms_median": statistics.median(s["script_ms"] for s in samples),
        "bytes_first_minute_median": statistics.median(s["bytes"] for s in minute),
        "bytes_last_minute_median": statistics.median(s["bytes"] for s in last),
        "heap_minute1_mb": one["JSHeapUsedSize"] / 1e6,
        "heap_end_mb": marks["end"]["JSHeapUsedSize"] / 1e6,
        "heap_ratio": marks["end"]["JSHeapUsedSize"] / one["JSHeapUsedSize"],
        "nodes_minute1": one["Nodes"],
        "nodes_end": marks["end"]["Nodes"],
        "breakdown": {"idle": idle_breakdown, "view": view_breakdown},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--anchor", action="store_true", help="also measure the anchor")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument(
        "--trace",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="trace this long (idle page, then the view after minute 1) and print where "
        "the main-thread time goes; 0 skips it",
    )
    parser.add_argument(
        "--trace-file",
        type=Path,
        help="save the view's trace here (open it in DevTools' Performance panel)",
    )
    args = parser.parse_args()
    results = [measure(args.minutes, anchor=False, trace_s=args.trace, trace_file=args.trace_file)]
    if args.anchor:
        results.append(measure(args.minutes, anchor=True, trace_s=args.trace))
    keys = [k for k in results[0] if k != "breakdown"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in results:
        print(
            "| "
            + " | ".join(f"{r[k]:.3g}" if isinstance(r[k], float) else str(r[k]) for k in keys)
            + " |"
        )
    for r in results:
        for page_kind, times in r["breakdown"].items():
            if times:
                print(f"\n{r['variant']}, {page_kind} page: main-thread self time, ms per 2 s")
                for name, ms in list(times.items())[:15]:
                    print(f"  {ms:8.1f}  {name}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
