"""``PipelineData``: a folder one step writes and later steps read (v1).

The step that lists it in its ``outputs`` produces it; steps that take it as an input
(in ``inputs`` or, undeclared, in ``arguments``) run after that step. Its files live on a
datastore (default: the workspace's default datastore) at ``azureml/<producing step's
run id>/<name>``, as in v1, so a reused step's output is the earlier run's folder.

Layer: pipeline.
"""

from __future__ import annotations

import re
from typing import Any

from ..data.datastore import Datastore
from ..exceptions import ArgumentTypeError, UserErrorException

PATH_TEMPLATE = "azureml/{run-id}/{output-name}"
TOKEN_PREFIX = "$AZUREML_DATAREFERENCE_"  # noqa: S105 - a placeholder, not a secret
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserErrorException(
            f"{what} {name!r} must start with a letter or '_' and hold only letters, digits "
            "and '_'."
        )
    return name


class PipelineData:
    """Intermediate data of a pipeline (v1 ``PipelineData``).

    Args:
        name: the data's name (unique within a pipeline).
        datastore: where its files go (a ``Datastore``); default: the default datastore.
        output_name: accepted for v1 code (the output's name is ``name``).
        output_mode: ``mount`` (default) or ``upload``: both write a local folder uploaded
            when the step ends well.
        output_path_on_compute: accepted for v1 code.
        output_overwrite: accepted for v1 code.
        data_type: accepted for v1 code.
        is_directory: accepted for v1 code (it is always a folder).
        pipeline_output_name: accepted for v1 code.
        training_output: accepted for v1 code.
    """

    def __init__(
        self,
        name: str,
        datastore: Datastore | None = None,
        output_name: str | None = None,
        output_mode: str = "mount",
        output_path_on_compute: str | None = None,
        output_overwrite: bool | None = None,
        data_type: str | None = None,
        is_directory: bool | None = None,
        pipeline_output_name: str | None = None,
        training_output: Any = None,
    ) -> None:
        self.name = _check_name(name, "PipelineData name")
        if datastore is not None and not isinstance(datastore, Datastore):
            raise ArgumentTypeError(
                f"datastore must be a Datastore, not {type(datastore).__name__}."
            )
        if output_mode not in ("mount", "upload"):
            raise UserErrorException(
                f"output_mode must be 'mount' or 'upload', not {output_mode!r}."
            )
        self.datastore = datastore
        self.output_mode = output_mode
        self.is_directory = True
        self.producers: list[Any] = []  # the steps that list it as an output

    @property
    def datastore_name(self) -> str | None:
        """The datastore's name (``None``: the workspace's default)."""
        return self.datastore.name if self.datastore is not None else None

    def as_input(self, input_name: str | None = None) -> PipelineDataInput:
        """This data as a step's input called ``input_name`` (default: its name)."""
        return PipelineDataInput(self, _check_name(input_name or self.name, "input_name"), "mount")

    def as_mount(self) -> PipelineDataInput:
        """This data as an input read in place."""
        return PipelineDataInput(self, self.name, "mount")

    def as_download(self, input_name: str | None = None) -> PipelineDataInput:
        """This data as an input copied before the step starts."""
        return PipelineDataInput(self, input_name or self.name, "download")

    def as_dataset(self) -> PipelineData:
        """v1: consume as a dataset; here the same data (steps get a folder path)."""
        return self

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name}"


class PipelineDataInput:
    """A ``PipelineData`` as a step's input (``data.as_input("name")``).

    Attributes:
        data: the data.
        name: the input's name (its token and ``AZUREML_DATAREFERENCE_<name>`` variable).
        mode: ``mount`` or ``download``.
    """

    def __init__(self, data: PipelineData, name: str, mode: str) -> None:
        self.data = data
        self.name = name
        self.mode = mode

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"PipelineDataInput(data={self.data.name!r}, name={self.name!r}, mode={self.mode!r})"
