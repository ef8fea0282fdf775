"""A run's data lineage as the run view shows it: what it read and wrote.

Runs record their data inputs and outputs as properties (``azureml.input.<name>``,
``azureml.output.<name>``: JSON, see ``run_widgets.data.job_io``), and a pipeline's steps
their bookkeeping (node id, reuse key). The view shows readable rows instead of that JSON:
``Input raw`` → ``dataset iris v1 (mount)``, ``Output prepared`` → ``workspaceblobstore:
dataset/<run>/prepared, registered as prepared_ds v1``, ``Reused`` → the run it reused.

Layer: views.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..data.job_io import INPUT_PROPERTY, OUTPUT_PROPERTY
from ..pipeline.launch import NODE_PROPERTY, REUSE_KEY_PROPERTY, REUSED_PROPERTY

BOOKKEEPING = frozenset({NODE_PROPERTY, REUSE_KEY_PROPERTY, REUSED_PROPERTY, "azureml.runsource"})


def is_lineage_key(key: str) -> bool:
    """Whether a property is shown as a lineage row (or not at all), not as itself."""
    return key.startswith((INPUT_PROPERTY, OUTPUT_PROPERTY)) or key in BOOKKEEPING


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def input_text(entry: Mapping[str, Any]) -> str:
    """One input, e.g. ``dataset iris v1 (mount)`` or ``workspaceblobstore:raw/x.csv (download)``."""
    mode = entry.get("mode", "")
    if entry.get("kind") == "dataset":
        name = entry.get("dataset_name")
        what = (
            f"dataset {name} v{entry.get('dataset_version')}"
            if name
            else f"dataset {entry.get('dataset_id', '')}"
        )
    else:
        what = f"{entry.get('datastore', '')}:{entry.get('path', '')}"
    return f"{what} ({mode})" if mode else what


def output_text(entry: Mapping[str, Any]) -> str:
    """One output, e.g. ``workspaceblobstore:azureml/<run>/out (3 files), registered as x v1``."""
    text = f"{entry.get('datastore', '')}:{entry.get('path', '')} ({entry.get('files', 0)} files)"
    if entry.get("dataset_name"):
        text += f", registered as {entry['dataset_name']} v{entry.get('dataset_version')}"
    return text


def lineage_rows(properties: Mapping[str, str]) -> list[tuple[str, str]]:
    """The rows of the properties panel for a run's inputs, outputs and reuse."""
    rows: list[tuple[str, str]] = []
    for key in sorted(properties):
        if key.startswith(INPUT_PROPERTY):
            rows.append((f"Input {key[len(INPUT_PROPERTY) :]}", input_text(_json(properties[key]))))
    for key in sorted(properties):
        if key.startswith(OUTPUT_PROPERTY):
            rows.append(
                (f"Output {key[len(OUTPUT_PROPERTY) :]}", output_text(_json(properties[key])))
            )
    if REUSED_PROPERTY in properties:
        rows.append(("Reused", f"the results of run {properties[REUSED_PROPERTY]}"))
    return rows
