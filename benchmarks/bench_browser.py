"""Browser-side cost of a long live view: real JupyterLab, headless Debian chromium.

A submitted script logs 30 metrics, one point per metric per second, for ``--minutes``;
``RunDetails(run, refresh_interval=2)`` shows it in a real JupyterLab. Every 2 s (one
refresh) the page is sampled through the Chrome DevTools Protocol:

* main-thread work: the growth of ``TaskDuration`` (``Performance.getMetrics``) over the
  window, i.e. all the page's main-thread tasks (script, style, layout, paint) in it;
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


def measure(minutes: float, anchor: bool) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="rw-bench-browser-"))
    root = base / "lab"
    root.mkdir()
    (root / "logger.py").write_text(SCRIPT)
    (root / "bench.ipynb").write_text(json.dumps(notebook(minutes, anchor)))
    env = {"RUN_WIDGETS_HOME": str(base / "home")}
    frames: list[tuple[float, int]] = []
    samples: list[dict[str, float]] = []
    marks: dict[str, dict[str, float]] = {}
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

        run_all(page)
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
                    "bytes": float(sent),
                    "nodes": current["Nodes"],
                    "heap": current["JSHeapUsedSize"],
                }
            )
            previous, previous_t = current, now
            if "minute1" not in marks and now - start >= 60:
                marks["minute1"] = heap_after_gc()
                previous = metrics()
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
        "task_ms_p90": sorted(s["task_ms"] for s in samples)[int(0.9 * (len(samples) - 1))],
        "script_ms_median": statistics.median(s["script_ms"] for s in samples),
        "bytes_first_minute_median": statistics.median(s["bytes"] for s in minute),
        "bytes_last_minute_median": statistics.median(s["bytes"] for s in last),
        "heap_minute1_mb": one["JSHeapUsedSize"] / 1e6,
        "heap_end_mb": marks["end"]["JSHeapUsedSize"] / 1e6,
        "heap_ratio": marks["end"]["JSHeapUsedSize"] / one["JSHeapUsedSize"],
        "nodes_minute1": one["Nodes"],
        "nodes_end": marks["end"]["Nodes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--anchor", action="store_true", help="also measure the anchor")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    results = [measure(args.minutes, anchor=False)]
    if args.anchor:
        results.append(measure(args.minutes, anchor=True))
    keys = list(results[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in results:
        print(
            "| "
            + " | ".join(f"{r[k]:.3g}" if isinstance(r[k], float) else str(r[k]) for k in keys)
            + " |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
