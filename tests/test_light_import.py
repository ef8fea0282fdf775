"""``import run_widgets`` stays light: no heavy library until a feature needs it.

Every process that logs (a submitted script, a sweep trial, a pipeline step, a Dask task, a
``python -m run_widgets...`` command, the suite's own subprocesses) pays for the import.
pandas (with pyarrow), fsspec, adlfs, tensorboardX (with protobuf) and cloudpickle are
imported where they are used: reading a tabular dataset, opening a datastore or remote
artifacts, writing TensorBoard events, shipping a function trial. numpy and psutil are
allowed: the first ``run.log`` needs them (the store's arrays, the process's owner row).

Each path runs in a fresh interpreter with an import spy installed first, which records,
for the first import of each heavy library, the run_widgets lines that led to it, so a
failure names the module that brought one back. The speed itself is measured by
``benchmarks/bench_import.py``, not here.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from foundation_helpers import run_python
from submit_helpers import (  # noqa: F401 - fixture
    driver_log,
    no_leftover_processes,
    submit,
    wait_terminal,
)

from run_widgets import Experiment

SQLITE_ONLY = "no store backend's path imports a heavy library (the drivers: test_store_registry)"

HEAVY = ("pandas", "pyarrow", "fsspec", "adlfs", "tensorboardX", "google.protobuf", "cloudpickle")

SPY = f"""
import json, sys, traceback

HEAVY = {HEAVY!r}
FIRST_IMPORTED_BY = {{}}


class HeavyImportSpy:
    '''Records who imports a heavy library first; finds nothing itself.'''

    def find_spec(self, name, path=None, target=None):
        for heavy in HEAVY:
            if (name == heavy or name.startswith(heavy + ".")) and heavy not in FIRST_IMPORTED_BY:
                FIRST_IMPORTED_BY[heavy] = [
                    f"{{frame.filename.rpartition('/run_widgets/')[2] or frame.filename}}"
                    f":{{frame.lineno}}"
                    for frame in reversed(traceback.extract_stack())
                    if frame.name != "find_spec"
                    and ("/run_widgets/" in frame.filename or frame.filename == "<string>")
                ]
        return None


sys.meta_path.insert(0, HeavyImportSpy())
"""

REPORT = f"""
loaded = [m for m in {HEAVY!r} if m in sys.modules]
print("HEAVY-IMPORTS " + json.dumps({{m: FIRST_IMPORTED_BY.get(m, ["?"]) for m in loaded}}))
"""

SCRIPT_LIFE = """
from run_widgets import Run

run = Run.get_context()
run.log("loss", 0.5)
run.log_list("accuracy", [0.1, 0.2])
run.log_row("table", epoch=1, loss=0.5)
run.tag("stage", "light")
"""


def heavy_imports(output: str) -> dict[str, list[str]]:
    """The spy's report in ``output``: heavy library → run_widgets lines, innermost first."""
    lines = [line for line in output.splitlines() if line.startswith("HEAVY-IMPORTS ")]
    assert lines, f"the child printed no report:\n{output[-3000:]}"
    report: dict[str, list[str]] = json.loads(lines[-1].removeprefix("HEAVY-IMPORTS "))
    return report


def explain(path: str, report: dict[str, list[str]]) -> str:
    return f"{path} imported heavy libraries it does not need:\n" + "\n".join(
        f"  {module}, imported by " + " <- ".join(chain) for module, chain in report.items()
    )


def check_in_fresh_interpreter(code: str, tmp_path: Path) -> dict[str, list[str]]:
    done = run_python(SPY + textwrap.dedent(code) + REPORT, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return heavy_imports(done.stdout)


def test_import_run_widgets_loads_no_heavy_library(tmp_path: Path) -> None:
    report = check_in_fresh_interpreter("import run_widgets\n", tmp_path)
    assert report == {}, explain("`import run_widgets`", report)


def test_a_script_that_logs_outside_a_job_loads_no_heavy_library(tmp_path: Path) -> None:
    report = check_in_fresh_interpreter(SCRIPT_LIFE + "run.complete()\n", tmp_path)
    assert report == {}, explain("Run.get_context() and logging (outside a job)", report)


def test_a_submitted_script_that_logs_loads_no_heavy_library(
    exp: Experiment, tmp_path: Path
) -> None:
    run = submit(exp, tmp_path, SPY + SCRIPT_LIFE + REPORT)
    assert wait_terminal(run, timeout=60) == "Completed", driver_log(run)
    report = heavy_imports(driver_log(run))
    assert report == {}, explain("a ScriptRunConfig child's Run.get_context() and logging", report)


def test_the_spy_names_the_module_that_imports_a_heavy_library(tmp_path: Path) -> None:
    # The failure messages above depend on it: a tabular dataset does need pandas.
    (tmp_path / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    report = check_in_fresh_interpreter(
        f"""
        from run_widgets import Dataset
        Dataset.Tabular.from_delimited_files({str(tmp_path / "data.csv")!r}).to_pandas_dataframe()
        """,
        tmp_path,
    )
    assert "pandas" in report
    assert any(line.startswith("data/tabular.py:") for line in report["pandas"]), report
    assert report["pandas"][-1].startswith("<string>:"), report
