"""The benchmarks run end to end (``run_all.py --quick``) and print the comparison table.

No timing is asserted: the numbers of a smoke run mean nothing. The MLflow half runs when
MLflow is installed (``benchmarks/setup_mlflow_venv.py``) and is skipped otherwise; a full
``run_all.py`` refuses to run without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import python_env

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
HEADER = "| operation | run_widgets | MLflow | ratio | target | met? |"
EXPECTED_KEYS = {
    "log_loop",
    "log_durable",
    "log_loop_step",
    "log_loop_numpy",
    "batch_array",
    "batch_list",
    "history_bulk",
    "history_chunked",
    "history_fine",
    "concurrency_rate",
    "concurrency_lost",
    "concurrency_locked",
    "concurrency_stress",
    "poll_growth",
    "open_finished",
    "open_finished_fine",
    "details.poll_growth",
    "details.open_finished",
    "details.open_finished_fine",
    "experiment_first_render",
    "experiment_poll",
    "experiment_payload",
    "import_ratio",
    "import_wall",
    "import_uncached",
    "import_script_start",
}


def _mlflow_available() -> bool:
    sys.path.insert(0, str(BENCH))
    try:
        from _common import mlflow_python

        return mlflow_python() is not None
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_run_all_quick_prints_the_table(tmp_path: Path) -> None:
    with_mlflow = _mlflow_available()
    out = tmp_path / "results.json"
    command = [
        sys.executable,
        str(BENCH / "run_all.py"),
        "--quick",
        "--json",
        str(out),
        "--results-dir",
        str(tmp_path / "results"),
        "--mlflow",
        "yes" if with_mlflow else "no",
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=840, env=python_env(), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert HEADER in proc.stdout
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert len(table) >= 2 + len(EXPECTED_KEYS)

    payload = json.loads(out.read_text())
    results = {r["key"]: r for r in payload["results"]}
    assert set(results) >= EXPECTED_KEYS
    for key in EXPECTED_KEYS:
        assert results[key]["ours"] is not None, key
    assert results["concurrency_lost"]["ours"] == 0
    assert results["concurrency_locked"]["ours"] == 0
    if with_mlflow:
        for key in ("log_loop", "batch_array", "history_bulk", "concurrency_rate"):
            assert results[key]["mlflow"] is not None, key
            assert results[key]["ratio"] is not None, key
        assert payload["mlflow"]
    else:
        assert "MLflow not measured" in proc.stdout
