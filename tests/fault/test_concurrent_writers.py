"""Many writer processes and a polling reader on one workspace: nothing lost, no lock errors,
and readers never hold writers up."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from support import python_env

from run_widgets import Experiment, Run, Workspace
from run_widgets.store import open_store

N_WRITERS = 8
N_POINTS = 50_000

WRITER = """
    import json, sys, time
    from run_widgets import Workspace, Experiment
    ws = Workspace.from_config()  # the test's workspace: RUN_WIDGETS_STORE, _ARTIFACTS
    exp = Experiment(ws, "load")
    run = exp.start_logging(snapshot_directory=None, outputs=False, display_name=sys.argv[2])
    start = float(sys.argv[1])
    while time.time() < start:
        time.sleep(0.005)
    began = time.perf_counter()
    for i in range(int(sys.argv[3])):
        run.log("x", i)
    logged = time.perf_counter() - began
    run.complete()
    print(json.dumps({"run_id": run.id, "logged_s": logged,
                      "total_s": time.perf_counter() - began}))
"""

READER = """
    import json, os, sys, time
    from run_widgets.store import open_store
    store = open_store(os.environ["RUN_WIDGETS_STORE"])
    stop_file = sys.argv[1]
    total = int(sys.argv[2])
    cursors, points, polls, errors, slowest, midway = {}, {}, 0, [], 0.0, 0
    while True:
        stopping = os.path.exists(stop_file)
        began = time.perf_counter()
        try:
            for run in store.find_runs():
                for chunk in store.read_chunks(run.id, after_chunk_id=cursors.get(run.id, 0)):
                    cursors[run.id] = chunk.id
                    held = points.get(run.id, 0)
                    fresh = chunk.since(held)  # a compacted chunk repeats points held
                    points[run.id] = held + (fresh.n if fresh is not None else 0)
            polls += 1
            midway += 0 < sum(points.values()) < total  # read while the writers wrote
        except Exception as exc:
            errors.append(repr(exc))
        slowest = max(slowest, time.perf_counter() - began)
        if stopping:
            break
        time.sleep(0.02)
    print(json.dumps({"polls": polls, "errors": errors, "slowest": slowest,
                      "points": points, "midway": midway}))
"""


def _spawn(ws: Workspace, code: str, *args: str) -> subprocess.Popen[str]:
    """A process running ``code`` on ``ws`` (described to it in the environment)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env={**python_env(), **ws.description().environ()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_eight_writers_and_a_polling_reader(ws: Workspace, tmp_path: Path) -> None:
    stop_file = tmp_path / "stop"
    reader = _spawn(ws, READER, str(stop_file), str(N_WRITERS * N_POINTS))
    start = time.time() + 2.0
    began = time.monotonic()
    writers = [_spawn(ws, WRITER, str(start), f"w{i}", str(N_POINTS)) for i in range(N_WRITERS)]
    results = []
    for proc in writers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err.lower(), err
        results.append(json.loads(out.strip().splitlines()[-1]))
    writers_done = time.monotonic() - began
    stop_file.touch()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    polled = json.loads(out.strip().splitlines()[-1])

    # every point of every writer is there, in order
    exp = Experiment(ws, "load")
    runs = list(exp.get_runs())
    assert len(runs) == N_WRITERS
    assert {r.get_status() for r in runs} == {"Completed"}
    for result in results:
        history = Run(exp, result["run_id"]).get_metric_history("x")
        np.testing.assert_array_equal(history.values, np.arange(N_POINTS))
        np.testing.assert_array_equal(history.steps, np.arange(N_POINTS))

    # The reader never failed ("database is locked" or otherwise), read while the writers
    # wrote (polls that saw some of the points, not all: it was not held until they ended),
    # and saw every point. How fast is for benchmarks/bench_concurrency.py, not for a test.
    assert polled["errors"] == []
    assert polled["midway"] >= 2, polled
    assert polled["points"] == {r["run_id"]: N_POINTS for r in results}
    logging = max(r["logged_s"] for r in results)
    print(
        f"\n8 writers x {N_POINTS:,} points: {N_WRITERS * N_POINTS / logging:,.0f} points/s "
        f"logged in total, all durable {writers_done - 2.0:.2f} s after the start; 0 lost, "
        f"0 lock errors; reader: {polled['polls']} polls ({polled['midway']} while writing), slowest {polled['slowest'] * 1e3:.0f} ms"
    )


def test_an_open_read_transaction_does_not_block_writers(ws: Workspace) -> None:
    exp = Experiment(ws, "e")
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    run.log("x", 1.0)
    run.flush()
    reader = open_store(ws.store_uri)  # its own connections
    # Points, not chunks: this process's flusher may compact the run's chunks meanwhile.
    points = "SELECT SUM(n) FROM chunks"
    with reader._snapshot_read() as conn:  # type: ignore[attr-defined]  # the store's read transaction
        assert conn.execute(points).fetchone()[0] == 1
        code = f"""
            from run_widgets import Workspace, Experiment, Run
            ws = Workspace.from_config()
            run = Run(Experiment(ws, "e"), {run.id!r})
            for i in range(20):
                run.log("x", float(i))
                run.flush()
        """
        # A writer blocked by the reader would wait for it, and the reader ends only after
        # the writer: the subprocess would time out. (How fast: bench_concurrency.py.)
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env={**python_env(), **ws.description().environ()},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr  # 20 commits while a reader holds a snapshot
        # the reader still sees its snapshot, and the new data once it ends the transaction
        assert conn.execute(points).fetchone()[0] == 1
    with reader._reading() as conn:  # type: ignore[attr-defined]
        assert conn.execute(points).fetchone()[0] == 21
    reader.close()
    assert len(run.get_metrics()["x"]) == 21
    run.complete()


@pytest.mark.parametrize("threads", [4])
def test_threads_logging_to_one_run(exp: Experiment, threads: int) -> None:
    import threading

    run = exp.start_logging(snapshot_directory=None, outputs=False)

    def work(index: int) -> None:
        for i in range(5000):
            run.log(f"t{index}", i)
            if i % 1000 == 0:
                run.flush()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    metrics = run.get_metrics()
    for index in range(threads):
        assert metrics[f"t{index}"] == list(range(5000))
    run.complete()
