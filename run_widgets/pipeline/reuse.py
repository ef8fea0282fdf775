"""Step reuse: a step whose inputs and code did not change is not run again (v1 ``allow_reuse``).

A step's *reuse key* is the sha256 of everything its result depends on: its kind, script
or command, the content of its source folder (the snapshot id is a content hash), its
arguments and ``params`` with the parameter values of this run, its environment, the
content fingerprint of every input (a dataset's or datastore path's files; an upstream
step's output as that step wrote or reused it) and where its outputs go. Each step run
keeps its key as a property; a later step with the same key reuses the newest Completed
run with that key whose outputs still exist, instead of running. Changing one input thus
reruns exactly the steps downstream of it whose inputs really changed.

Layer: pipeline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..data import filesystems, sources
from ..data.dataset import Dataset, dataset_from_definition
from ..data.datastore import resolve_datastore
from ..data.job_io import OUTPUT_PROPERTY, lineage
from ..exceptions import DataAccessError
from ..store import RunRecord, RunStatus, TrackingStore
from ..workspace import Workspace
from .launch import REUSE_KEY_PROPERTY, STEP_RUN


def input_fingerprint(
    workspace: Workspace, entry: Mapping[str, Any], upstream: Mapping[str, Any]
) -> str:
    """The content fingerprint of one resolved input (reads every file once)."""
    if entry.get("fingerprint"):  # an upstream step's output: what it wrote
        return str(entry["fingerprint"])
    if entry["kind"] == "dataset":
        dataset: Dataset
        if entry.get("dataset_id"):
            dataset = Dataset.get_by_id(workspace, str(entry["dataset_id"]))
        else:
            dataset = dataset_from_definition(entry["definition"], workspace)
        files = sources.all_files(dataset.definition["sources"], workspace)
        return filesystems.fingerprint(files) + json.dumps(dataset.definition.get("transforms", []))
    location = {"kind": "datastore", "datastore": entry["datastore"], "path": entry["path"]}
    try:
        return filesystems.fingerprint(sources.files_of(location, workspace))
    except DataAccessError:  # a path that holds nothing (yet): mounted as an empty folder
        return "absent"


def reuse_key(
    step: Mapping[str, Any],
    arguments: Sequence[str],
    environment: Mapping[str, Any],
    input_prints: Mapping[str, str],
) -> str:
    """The reuse key of a step about to start (see the module docstring)."""
    payload = {
        "kind": step["kind"],
        "script": step.get("script"),
        "command": step.get("command"),
        "snapshot": step["snapshot"],
        "arguments": list(arguments),
        "environment": dict(environment),
        "inputs": sorted((e["name"], e["mode"], input_prints[e["name"]]) for e in step["inputs"]),
        "outputs": sorted(
            (
                o["name"],
                o["datastore"],
                o["path"],
                json.dumps(o.get("register"), sort_keys=True),
                json.dumps(o.get("read_as"), sort_keys=True),
            )
            for o in step["outputs"]
        ),
    }
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()


def reusable_run(workspace: Workspace, store: TrackingStore, key: str) -> RunRecord | None:
    """The newest Completed step run with this key whose outputs are all still there."""
    candidates = store.find_runs(
        run_type=STEP_RUN, status=RunStatus.COMPLETED, properties={REUSE_KEY_PROPERTY: key}, limit=5
    )
    for record in candidates:
        if _outputs_exist(workspace, record):
            return record
    return None


def _outputs_exist(workspace: Workspace, record: RunRecord) -> bool:
    for output in lineage(record.properties, OUTPUT_PROPERTY).values():
        try:
            store = resolve_datastore(workspace, str(output["datastore"]))
            fs, _ = store.filesystem()
            if not fs.exists(store.full_path(str(output["path"]))) and output.get("files"):
                return False
        except Exception:  # a datastore gone or unreachable: run the step again
            return False
    return True
