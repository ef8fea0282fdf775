"""The package's architecture holds: layers import only downwards, Run stays a thin façade.

Layers, bottom to top (``run_widgets/__init__.py`` says the same): exceptions → store →
runtime → tracking → workspace → run → experiment → data → submit, sweep, registry,
tensorboard, port, the run context → pipeline → views → widgets → mlflow → the package. Every import counts, also
one inside a function or under ``TYPE_CHECKING``; what a lower layer needs from a higher one
it gets from ``runtime.REGISTRY``.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import run_widgets
import run_widgets.widgets.sweep
from run_widgets import Experiment, Run
from run_widgets.run import attach_run
from run_widgets.runtime.registry import REGISTRY, Lazy, Registry, Slot, Table
from run_widgets.tracking.logger import RunLogger

PACKAGE = Path(run_widgets.__file__).parent
LAYERS = [
    {"_version", "exceptions"},
    {"store"},
    {"runtime"},
    {"tracking"},
    {"workspace"},
    {"run"},
    {"experiment"},
    {"data"},
    {"submit", "sweep", "registry", "tensorboard", "port", "_context"},
    {"pipeline"},
    {"views"},
    {"widgets"},
    {"mlflow"},
]
KNOWN_UPWARD: set[tuple[str, str]] = set()  # (module, layer) allowed to import upwards: none


def layer_of(top: str) -> int:
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"run_widgets.{top} is in no layer: add it to LAYERS")


def imports_of(path: Path, module: str) -> set[str]:
    """Every run_widgets module ``path`` imports (in functions and TYPE_CHECKING too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("run_widgets"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "run_widgets":  # from . import x: the submodules
                found.update(f"run_widgets.{a.name}" for a in node.names)
            elif base.startswith("run_widgets"):
                found.add(base)
    return found


def modules() -> list[tuple[str, Path]]:
    result = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        result.append((name, path))
    return result


def test_every_layer_imports_only_layers_below_it() -> None:
    upward = []
    for module, path in modules():
        if module == "run_widgets":
            continue  # the package imports every layer that registers something
        own = layer_of(module.split(".")[1])
        for target in imports_of(path, module):
            top = target.split(".")[1] if target.count(".") else None
            if top is None or top == module.split(".")[1]:
                continue
            if layer_of(top) > own and (module, top) not in KNOWN_UPWARD:
                upward.append(f"{module} imports {target}")
    assert not upward, "imports up the layers:\n" + "\n".join(upward)


def test_at_most_two_private_modules_at_the_top() -> None:
    private = sorted(p.name for p in PACKAGE.glob("_*.py") if p.name != "__init__.py")
    assert len(private) <= 2, private
    assert "_version.py" in private


def test_run_is_a_thin_facade() -> None:
    source = (PACKAGE / "run.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 300


def test_every_module_says_what_it_is_and_the_new_ones_their_layer() -> None:
    for module, path in modules():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{module} has no docstring"
        if module.split(".")[1:2] in (["runtime"], ["tracking"]):
            assert "Layer:" in doc, f"{module}: its docstring does not name its layer"


def test_a_delegated_method_is_the_parts_method_with_its_signature_and_doc(
    exp: Experiment,
) -> None:
    assert Run.log is RunLogger.log  # what help(Run.log) and the API reference show
    assert Run.log.__doc__ and "Log a number or string" in Run.log.__doc__
    assert list(inspect.signature(Run.log).parameters)[1:] == [
        "name",
        "value",
        "description",
        "step",
    ]
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    run.log("a", 1.0)
    assert run.__dict__["log"] == run._logger.log  # kept: later calls are direct
    run.complete()


def test_a_subclass_overrides_a_delegated_method_and_calls_super(exp: Experiment) -> None:
    calls: list[str] = []

    class Loud(Run):
        def log(
            self, name: str, value: object, description: str = "", step: int | None = None
        ) -> None:
            calls.append(name)
            super().log(name, value, description, step)

    record = exp.workspace.store.get_run(exp.start_logging(snapshot_directory=None).id)
    assert record is not None
    loud = attach_run(exp, record, cls=Loud)
    loud.log("x", 1.0)
    loud.log("x", 2.0)
    assert calls == ["x", "x"]  # the override is never bypassed by a kept bound method
    assert loud.get_metrics() == {"x": [1.0, 2.0]}
    loud.complete()


def test_read_only_properties_stay_read_only(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    with pytest.raises(AttributeError, match="has no setter"):
        run.id = "other"  # type: ignore[misc]
    run.display_name = "renamed"  # settable, as in v1
    assert run.display_name == "renamed" and Run(exp, run.id).display_name == "renamed"
    run.complete()


def test_the_registry_finds_what_the_layers_above_registered() -> None:
    assert REGISTRY.run_class.require() is Run
    assert REGISTRY.experiment_class.require() is Experiment
    assert REGISTRY.run_types.get("hyperdrive") is run_widgets.HyperDriveRun
    assert {"local", "amlcompute", "dask"} <= set(REGISTRY.executors.keys())
    assert REGISTRY.view_kinds.get("hyperdrive") is run_widgets.widgets.sweep.SweepView
    assert REGISTRY.run_types.get("azureml.PipelineRun") is run_widgets.PipelineRun
    assert (
        REGISTRY.view_kinds.get("azureml.PipelineRun") is run_widgets.widgets.pipeline.PipelineView
    )
    assert REGISTRY.run_report.get() is not None


def test_scripts_load_no_widget_and_the_widget_layer_registers_its_view_kinds() -> None:
    # A fresh process: `import run_widgets` (what a training script does) loads no widget
    # library; the first RunDetails loads the widget layer, which registers the sweep view.
    code = (
        "import sys, run_widgets\n"
        "from run_widgets.runtime import REGISTRY\n"
        "loaded = sorted(m for m in ('ipywidgets', 'bqplot', 'anywidget') if m in sys.modules)\n"
        "kinds = ('hyperdrive', 'azureml.PipelineRun')\n"
        "print(loaded, [REGISTRY.view_kinds.get(kind) for kind in kinds])\n"
        "run_widgets.RunDetails\n"
        "print([REGISTRY.view_kinds.get(kind).__module__ for kind in kinds])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split("\n")[:2] == [
        "[] [None, None]",
        "['run_widgets.widgets.sweep', 'run_widgets.widgets.pipeline']",
    ]


def test_slots_and_tables_say_what_is_missing_and_load_lazy_values() -> None:
    registry = Registry()
    with pytest.raises(RuntimeError, match="No run class is registered"):
        registry.run_class.require()
    table: Table[str, object] = Table("thing")
    table.register("path", Lazy("pathlib", "Path"))
    assert table.get("path") is Path and table.get("other") is None
    slot: Slot[int] = Slot("number")
    slot.register(1)
    slot.register(2)
    assert slot.require() == 2
