"""A checksum of everything a workspace holds: ``python -m run_widgets.store checksum``.

Two stores that hold the same workspace have the same :func:`store_digest`, whatever
their backends and however their points are cut into chunks: it hashes what a user can
read back, in a canonical order and form, and leaves out what is the store's own
bookkeeping (row ids, change sequence numbers, process owner records, chunk boundaries).
Per section (experiments, runs, metrics, models, environments, compute targets,
datastores, datasets, published pipelines, pipeline endpoints, files) so that a
difference is easy to find. A datastore's credentials are hashed as stored: sealed
(their ciphertext and key id), never decrypted. A copy (:mod:`run_widgets.store.copy`) is checked
by comparing the two digests.

The ``created_by`` role of each run is hashed only when asked (``roles=True``): a copy
made by a writer role holds its own role there.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import TrackingStore
from .copy import FILE_FOLDERS

SECTIONS = (
    "experiments",
    "runs",
    "metrics",
    "models",
    "environments",
    "compute_targets",
    "datastores",
    "datasets",
    "published_pipelines",
    "pipeline_endpoints",
    "files",
)


@dataclass(frozen=True)
class StoreDigest:
    """The sha256 of each section of a workspace and of all of them together.

    Attributes:
        sections: section name → hex digest.
        counts: section name → how many items it hashed (runs, points, files...).
    """

    sections: dict[str, str]
    counts: dict[str, int]

    @property
    def total(self) -> str:
        """One hex digest of every section."""
        return hashlib.sha256(json.dumps(self.sections, sort_keys=True).encode()).hexdigest()

    def differences(self, other: StoreDigest) -> list[str]:
        """The sections whose digests differ."""
        return [name for name in SECTIONS if self.sections.get(name) != other.sections.get(name)]

    def __str__(self) -> str:
        lines = [
            f"{name:<20} {self.sections[name][:16]}  ({self.counts[name]:,})" for name in SECTIONS
        ]
        return "\n".join([*lines, f"{'total':<20} {self.total}"])


def _canonical(value: Any) -> Any:
    """``value`` in a form that prints the same from every backend (NaN and inf as text)."""
    if isinstance(value, float):
        return repr(value) if not math.isfinite(value) else value
    if isinstance(value, np.generic):
        return _canonical(value.item())
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


class _Section:
    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.count = 0

    def add(self, item: Any) -> None:
        self.hash.update(json.dumps(_canonical(item), sort_keys=True, default=str).encode())
        self.hash.update(b"\n")
        self.count += 1


def store_digest(
    store: TrackingStore, files: str | os.PathLike[str] | None = None, *, roles: bool = False
) -> StoreDigest:
    """The digest of everything ``store`` (and its artifacts folder ``files``) holds.

    Args:
        store: the tracking store.
        files: its artifacts folder (``None``: the files section is empty).
        roles: also hash which database role created each run.

    Returns:
        The digest of each section.
    """
    sections = {name: _Section() for name in SECTIONS}
    for experiment in sorted(store.list_experiments(), key=lambda e: e.name):
        sections["experiments"].add([experiment.name, experiment.created_at])
    runs = sorted(store.find_runs(), key=lambda r: r.id)
    for record in runs:
        sections["runs"].add(
            [
                record.id,
                record.experiment_name,
                record.parent_id,
                record.number,
                record.display_name,
                record.description,
                record.run_type,
                record.status,
                record.created_at,
                record.start_time,
                record.end_time,
                record.error,
                record.definition,
                record.tags,
                record.properties,
                record.created_by if roles else None,
            ]
        )
        _add_metrics(store, record.id, sections["metrics"])
    for model in sorted(store.list_models(), key=lambda m: (m.name, m.version)):
        sections["models"].add(
            [model.name, model.version, model.created_at, model.description, model.tags,
             model.properties, model.run_id, model.experiment_name, model.storage, model.path]
        )  # fmt: skip
    for environment in sorted(store.list_environments(), key=lambda e: (e.name, e.version)):
        sections["environments"].add(
            [environment.name, environment.version, environment.created_at, environment.definition]
        )
    for name in store.list_compute_targets():
        sections["compute_targets"].add([name, store.get_compute_target(name)])
    _add_data_assets(store, sections)
    if files is not None:
        _add_files(Path(files), sections["files"])
    return StoreDigest(
        {name: s.hash.hexdigest() for name, s in sections.items()},
        {name: s.count for name, s in sections.items()},
    )


def _add_metrics(store: TrackingStore, run_id: str, section: _Section) -> None:
    """Each metric's header, then its points one by one (chunk boundaries do not count)."""
    infos = sorted(store.metric_infos([run_id]), key=lambda i: i.name)
    for info in infos:
        section.add(
            [run_id, info.name, info.kind, info.description, info.n_points, info.last_step,
             info.first_value, info.last_value, info.min_value, info.max_value,
             list(info.columns)]
        )  # fmt: skip
        for chunk in store.read_chunks(run_id, names=[info.name]):
            values = chunk.values
            if isinstance(values, dict):  # rows: a dict per point, missing cells left out
                columns = list(values.items())
                points: list[Any] = [
                    {c: cells[i] for c, cells in columns if cells[i] is not None}
                    for i in range(chunk.n)
                ]
            else:
                points = values.tolist() if isinstance(values, np.ndarray) else list(values)
            for step, when, point in zip(
                chunk.steps.tolist(), chunk.times.tolist(), points, strict=True
            ):
                section.hash.update(
                    json.dumps(_canonical([step, when, point]), default=str).encode() + b"\n"
                )
                section.count += 1


def _add_data_assets(store: TrackingStore, sections: dict[str, _Section]) -> None:
    """Datastores (credentials sealed, as stored), datasets, published pipelines, endpoints."""
    default = store.get_default_datastore_name()
    for datastore in sorted(store.list_datastores(), key=lambda d: d.name):
        sections["datastores"].add(
            [datastore.name, datastore.definition, datastore.secret, datastore.created_at,
             datastore.name == default]
        )  # fmt: skip
    for dataset in sorted(
        store.list_datasets(unnamed=True),
        key=lambda d: (d.name is None, d.name or "", d.version or 0, d.id),
    ):
        sections["datasets"].add(
            [dataset.id, dataset.name, dataset.version, dataset.definition, dataset.fingerprint,
             dataset.manifest, dataset.description, dataset.tags, dataset.created_at]
        )  # fmt: skip
    for published in sorted(store.list_published_pipelines(), key=lambda p: p.id):
        sections["published_pipelines"].add(
            [published.id, published.name, published.description, published.version,
             published.spec, published.continue_on_step_failure, published.status,
             published.created_at]
        )  # fmt: skip
    for endpoint in sorted(store.list_pipeline_endpoints(), key=lambda e: e.id):
        sections["pipeline_endpoints"].add(
            [endpoint.id, endpoint.name, endpoint.description, list(endpoint.pipeline_ids),
             endpoint.default_version, endpoint.status, endpoint.created_at]
        )  # fmt: skip


def _add_files(folder: Path, section: _Section) -> None:
    """Every file under the copied folders: its path and content."""
    for top in FILE_FOLDERS:
        root = folder / top
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if any(part.startswith(".incoming-") for part in path.parts):
                continue
            content = hashlib.sha256(path.read_bytes()).hexdigest()
            section.add([path.relative_to(folder).as_posix(), content])
