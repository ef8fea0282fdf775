"""Exceptions raised by run_widgets.

The class names follow Azure ML SDK v1 so that ``except`` clauses in ported notebooks keep
working, and every error about bad input also subclasses the built-in ``ValueError`` or
``TypeError`` so generic handlers catch it too.
"""

from __future__ import annotations


class RunWidgetsError(Exception):
    """Base class of every exception raised by run_widgets."""


class RunWidgetsWarning(UserWarning):
    """Warning emitted by run_widgets (for example when a tag value is converted to ``str``)."""


class UserErrorException(RunWidgetsError, ValueError):
    """An argument has a value that cannot be accepted; the message names the argument."""


class MetricTypeError(UserErrorException, TypeError):
    """A metric value, name or step given to a ``log*`` call has an unsupported type."""


class ArgumentTypeError(UserErrorException, TypeError):
    """A non-metric argument has a type the call does not support.

    Tags, properties, file names and upload sources, run ids, script arguments, workspace
    locations, error details.
    """


class RunNotFoundError(UserErrorException, LookupError):
    """No run with the given id exists in the experiment or workspace."""


class MetricNotFoundError(UserErrorException, LookupError):
    """A run has no metric of the given name (e.g. a windowed read or a zoom asked for one)."""


class ExperimentNotFoundError(UserErrorException, LookupError):
    """No experiment with the given name exists in the workspace."""


class FileNotFoundInRunError(UserErrorException, FileNotFoundError):
    """A file name asked for is not among the run's files; the message lists what is there."""


class ModelNotFoundException(UserErrorException, LookupError):
    """No registered model matches the name, version or filters asked for."""


class SnapshotException(UserErrorException):
    """A snapshot could not be taken or restored (too large, too many files, already taken)."""


class ExperimentExecutionException(RunWidgetsError):
    """Submitting or following a script run failed, or output streaming was interrupted."""


class ActivityFailedException(RunWidgetsError):
    """Raised by ``wait_for_completion`` when the run ended ``Failed``.

    Attributes:
        run_details: the run's ``get_details()`` dictionary, error included.
    """

    def __init__(self, message: str, run_details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.run_details = run_details or {}


class RunEnvironmentException(RunWidgetsError):
    """``Run.get_context(allow_offline=False)`` was called outside a submitted run."""


class RunStateError(UserErrorException):
    """The run's status does not allow the operation (for example logging to a finished run)."""


class StoreError(RunWidgetsError):
    """The tracking store cannot be opened or used."""


class StoreVersionError(StoreError):
    """The store was written by a newer run_widgets; it is refused and left untouched."""


class StoreCorruptError(StoreError):
    """The store file is damaged or is not a run_widgets store; it is left untouched."""


class StoreReadOnlyError(StoreError):
    """The workspace directory or store file cannot be written."""


class StorePermissionError(StoreError):
    """The store's database role may not do what was asked; nothing was written.

    A viewer role that tries to create or log a run, a writer role that tries to change a
    run another role created. Retrying does not help: the store's administrator grants
    rights (``python -m run_widgets.store.postgres.roles``).

    Attributes:
        role: the database role the client connected as.
        action: what it tried to do, in words (``log metrics to run 1a2b``).
    """

    def __init__(self, message: str, role: str = "", action: str = "") -> None:
        super().__init__(message)
        self.role = role
        self.action = action


class ComputeTargetException(UserErrorException):
    """A compute target is missing, badly configured or unreachable (v1 name).

    v1 notebooks catch it around ``ComputeTarget(workspace=ws, name=...)`` to create the
    target when it does not exist yet.
    """


class DatastoreNotFoundError(UserErrorException, LookupError):
    """No datastore with the given name is registered in the workspace."""


class DatasetNotFoundError(UserErrorException, LookupError):
    """No dataset with the given name, version or id is registered in the workspace."""


class DataAccessError(UserErrorException):
    """Data cannot be read or written: a missing path, an unreachable URL, refused credentials.

    The message names the path, URL or datastore.
    """


class DatasetChangedError(DataAccessError):
    """The files of a registered dataset version changed after it was registered.

    A version is pinned to its content (a fingerprint of every file); register a new
    version to use what the files hold now.
    """


class DatasetTimestampMissingError(UserErrorException):
    """A time filter was used on a tabular dataset without its timestamp column (v1 name)."""


class PipelineValidationError(UserErrorException):
    """A pipeline cannot run: a cycle, an input nobody produces, a missing datastore or dataset.

    Raised by ``pipeline.validate()`` and before anything of a submitted pipeline runs.
    """


class PipelineNotFoundError(UserErrorException, LookupError):
    """No published pipeline or pipeline endpoint matches the id or name."""
