"""A run's children: creating child runs (``child_run``, ``create_children``) and listing them.

Runs are created here and in the façade's ``create_run`` by :func:`create_records`, which
writes :func:`~run_widgets.tracking.lifecycle.create_op` operations in one transaction;
the component hands records to the ``Run`` façade's opener, so the classes of the run
objects (a sweep's parent is a ``HyperDriveRun``) stay the façade's business.

Layer: tracking.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..exceptions import ArgumentTypeError, UserErrorException
from ..runtime import RUNTIME
from ..store import RunRecord, RunStatus, TagFilter, TrackingStore
from . import lifecycle
from . import values as _values
from .core import RunCore
from .reaper import reap_lost

RunT = TypeVar("RunT")
"""The class of the run objects (``Run``)."""
Opener = Callable[..., RunT]
"""Makes the run object of a record: ``open(record, owned=..., outputs_dir=...)``."""


class RunType:
    """Values of ``Run.type``."""

    INTERACTIVE = "interactive"
    SCRIPT = "scriptrun"
    SWEEP = "hyperdrive"


def new_run_id() -> str:
    """A fresh run id (a uuid4, as v1 used for interactive runs)."""
    return str(uuid.uuid4())


def create_records(
    store: TrackingStore,
    experiment_name: str,
    runs: Sequence[Mapping[str, Any]],
    *,
    record_owner: bool,
) -> list[RunRecord]:
    """Create runs in one transaction; their records, in order.

    Args:
        runs: the fields of each run (``run_id`` and the keywords of ``lifecycle.create_op``).
        record_owner: record this process as their owner (it runs them).
    """
    owner = RUNTIME.flusher.owner_id(store) if record_owner else None
    lifecycle.write(
        store,
        *(lifecycle.create_op(experiment_name=experiment_name, owner_id=owner, **r) for r in runs),
    )
    records = []
    for fields in runs:
        record = store.get_run(fields["run_id"])
        assert record is not None
        records.append(record)
    return records


def create_record(
    store: TrackingStore,
    experiment_name: str,
    record_owner: bool,
    *,
    run_id: str | None = None,
    run_type: str = RunType.INTERACTIVE,
    status: str = RunStatus.RUNNING,
    **fields: Any,
) -> RunRecord:
    """Create one run (see :func:`create_records`), by default a new interactive Running one."""
    run_id = new_run_id() if run_id is None else _values.validate_run_id(run_id)
    fields.update(run_id=run_id, run_type=run_type, status=status)
    (record,) = create_records(store, experiment_name, [fields], record_owner=record_owner)
    return record


def outputs_dir(outputs: Any) -> Path | None:
    """v1 ``outputs`` argument: None/True → ./outputs, False → none, str → that folder."""
    if outputs is False:
        return None
    folder = Path("outputs") if outputs is None or outputs is True else Path(os.fspath(outputs))
    folder = folder if folder.is_absolute() else Path.cwd() / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class RunChildren(Generic[RunT]):
    """The children of one ``Run`` object's run.

    Args:
        core: the run's shared parts.
        experiment_name: the experiment of the run (and of its children).
        open_run: makes the run object of a child's record (see :data:`Opener`).
    """

    def __init__(self, core: RunCore, experiment_name: str, open_run: Opener[RunT]) -> None:
        self._core = core
        self._experiment_name = experiment_name
        self._open = open_run

    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: Any = None
    ) -> RunT:
        """Create and start a child run (Running) owned by this process."""
        if name is not None and not isinstance(name, str):
            raise ArgumentTypeError(f"name must be a str, not {type(name).__name__}.")
        folder = outputs_dir(outputs) if outputs is not None else None
        record = create_record(
            self._core.store,
            self._experiment_name,
            True,
            run_id=run_id,
            parent_id=self._core.id,
            display_name=name,
        )
        return self._open(record, owned=True, outputs_dir=folder)

    def create_children(
        self,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: Sequence[str] | None = None,
    ) -> list[RunT]:
        """Create ``count`` children, or one per value of ``tag_values`` tagged ``tag_key``."""
        if count is None and tag_key is None and tag_values is None:
            raise UserErrorException("Either count or tag_key and tag_values must be set")
        if tag_values is not None and tag_key is None:
            raise UserErrorException("tag_key must not be null when tag_values is set")
        if tag_key is not None and tag_values is None:
            raise UserErrorException("tag_values must not be null when tag_key is set")
        if count is not None and tag_key is not None:
            raise UserErrorException("count can not be set when tag_key and tag_values are set")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise UserErrorException(f"count must be a positive int, got {count!r}.")
            tags_list: list[dict[str, str | None]] = [
                {"azureml.batch_child_number": str(i)} for i in range(count)
            ]
        else:
            assert tag_key is not None and tag_values is not None
            key = _values.tag_key(tag_key)
            tags_list = [{key: _values.tag_value(v, key)} for v in tag_values]
        if len(tags_list) > 100:
            raise UserErrorException("create_children can not create more than 100 runs")
        records = create_records(
            self._core.store,
            self._experiment_name,
            [
                {
                    "run_id": new_run_id(),
                    "run_type": RunType.INTERACTIVE,
                    "status": RunStatus.RUNNING,
                    "parent_id": self._core.id,
                    "tags": tags,
                }
                for tags in tags_list
            ],
            record_owner=True,
        )
        return [self._open(record, owned=True) for record in records]

    def get_children(
        self,
        /,
        recursive: bool = False,
        tags: TagFilter = None,
        properties: TagFilter = None,
        type: str | None = None,
        status: str | None = None,
        **kwargs: Any,
    ) -> Iterator[RunT]:
        """Child runs, newest first (the whole subtree with ``recursive=True``)."""
        store, core = self._core.store, self._core
        if recursive:
            wanted = set(store.descendant_ids(core.id))
            records = [
                r
                for r in store.find_runs(
                    experiment_id=core.record.experiment_id,
                    run_type=type,
                    status=status,
                    tags=tags,
                    properties=properties,
                )
                if r.id in wanted
            ]
        else:
            records = store.find_runs(
                parent_id=core.id, run_type=type, status=status, tags=tags, properties=properties
            )
        return (self._open(r) for r in reap_lost(store, records))
