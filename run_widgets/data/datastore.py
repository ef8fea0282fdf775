"""Datastores (v1 ``azureml.core.Datastore``): named places where data files live.

Every workspace has two built-in datastores, ``workspaceblobstore`` (the default) and
``workspacefilestore``: folders of the workspace's artifacts location
(``<workspace>/datastores/<name>/``, or ``az://container/prefix/datastores/<name>/`` when the
workspace keeps its files on object storage, so every machine of a team sees the same
files). ``Datastore.register_azure_blob_container`` adds an Azure Blob container, read and
written for real through adlfs (fsspec); its account key or SAS token is sealed with the
workspace secret key before it is stored (see :mod:`.secrets`) and never printed.

Registered datastores are rows of the workspace's tracking store, so every process and
machine using the store sees them.

Layer: data (imports the workspace façade and the store).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from ..exceptions import (
    ArgumentTypeError,
    DataAccessError,
    DatastoreNotFoundError,
    UserErrorException,
)
from ..workspace import Workspace
from . import filesystems, secrets
from .references import DataReference, check_reference_name, clean_path

DEFAULT_NAME = "workspaceblobstore"
FILE_STORE_NAME = "workspacefilestore"
BUILT_IN = (DEFAULT_NAME, FILE_STORE_NAME)
BUILT_IN_TYPE = "WorkspaceFolder"
FOLDER = "datastores"


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise UserErrorException(f"A datastore name must be a non-empty str, not {name!r}.")
    check_reference_name(name, "datastore_name")
    return name


class Datastore:
    """A named place where data files live (v1 ``Datastore``).

    ``Datastore(workspace, name)`` returns the registered (or built-in) datastore of that
    name as its own type; ``Datastore(workspace)`` the default one.

    Args:
        workspace: the workspace.
        name: the datastore's name (default: the workspace's default datastore).

    Raises:
        DatastoreNotFoundError: no datastore of that name (the message lists what exists).
    """

    datastore_type: ClassVar[str] = ""
    workspace: Workspace
    name: str

    def __new__(cls, workspace: Workspace | None = None, name: str | None = None) -> Datastore:
        """The datastore ``name`` of ``workspace`` (default: the default datastore)."""
        if not isinstance(workspace, Workspace):
            raise ArgumentTypeError(
                f"workspace must be a run_widgets Workspace, not {type(workspace).__name__}."
            )
        if name is None:
            return _default(workspace)
        return _load(workspace, _check_name(name))

    def __init__(self, workspace: Workspace | None = None, name: str | None = None) -> None:
        pass  # __new__ built the object

    def _setup(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name

    # ---------------------------------------------------------------- v1 statics --
    @staticmethod
    def get(workspace: Workspace, datastore_name: str) -> Datastore:
        """The datastore called ``datastore_name``."""
        return Datastore(workspace, datastore_name)

    @staticmethod
    def get_default(workspace: Workspace) -> Datastore:
        """The workspace's default datastore (``workspaceblobstore`` unless changed)."""
        return _default(workspace)

    @staticmethod
    def register_azure_blob_container(
        workspace: Workspace,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> AzureBlobDatastore:
        """Register an Azure Blob container as a datastore (v1 signature).

        The container is reached for real through adlfs. Unless ``skip_validation``, it is
        listed once first, so that a wrong key, token, account or container is an error now
        (naming it) and nothing is registered.

        Args:
            workspace: the workspace.
            datastore_name: the datastore's name (letters, digits, ``_``).
            container_name: the blob container.
            account_name: the storage account.
            sas_token: a SAS token (or give ``account_key``).
            account_key: the account key (sealed before it is stored, never printed).
            protocol: ``https`` (default) or ``http`` (e.g. the Azurite emulator).
            endpoint: the storage endpoint, default ``core.windows.net``; a ``host:port`` of
                an IP address or ``localhost`` means an emulator (path-style URLs).
            overwrite: replace a datastore of the same name.
            create_if_not_exists: create the container if it is missing.
            skip_validation: do not contact the account now.
            blob_cache_timeout: accepted for v1 code.
            grant_workspace_access: accepted for v1 code.
            subscription_id: accepted for v1 code.
            resource_group: accepted for v1 code.

        Returns:
            The registered ``AzureBlobDatastore``.

        Raises:
            DataAccessError: the account refused the credentials, or the container is missing.
            UserErrorException: a name is taken (without ``overwrite``) or an argument is bad.
        """
        name = _check_name(datastore_name)
        if name in BUILT_IN:
            raise UserErrorException(f"{name!r} is a built-in datastore; choose another name.")
        for what, value in (("container_name", container_name), ("account_name", account_name)):
            if not isinstance(value, str) or not value:
                raise UserErrorException(f"{what} must be a non-empty str.")
        if (sas_token is None) == (account_key is None):
            raise UserErrorException("Give exactly one of account_key and sas_token.")
        protocol = protocol or "https"
        if protocol not in ("http", "https"):
            raise UserErrorException(f"protocol must be 'http' or 'https', not {protocol!r}.")
        definition = {
            "type": AzureBlobDatastore.datastore_type,
            "container_name": container_name,
            "account_name": account_name,
            "protocol": protocol,
            "endpoint": endpoint or "core.windows.net",
            "credential_type": "AccountKey" if account_key is not None else "Sas",
        }
        secret = (
            {"account_key": account_key}
            if account_key is not None
            else {"sas_token": str(sas_token)}
        )
        store = AzureBlobDatastore._built(workspace, name, definition, secret)
        if not skip_validation:
            store._validate(create_if_not_exists)
        record = workspace.store.add_datastore(
            name, definition, secrets.seal(secret), time.time(), overwrite=bool(overwrite)
        )
        if dict(record.definition) != definition:
            raise UserErrorException(
                f"A datastore named {name!r} is registered already (a {record.definition.get('type')}"
                "); pass overwrite=True to replace it."
            )
        return store

    @staticmethod
    def register_azure_file_share(*args: Any, **kwargs: Any) -> Datastore:
        """Not available locally: Azure file shares need Azure (use a blob container)."""
        raise UserErrorException(
            "Azure file share datastores are cloud-only; register an Azure Blob container "
            "(Datastore.register_azure_blob_container) or use the workspace's datastores."
        )

    register_azure_data_lake_gen2 = register_azure_file_share
    register_azure_sql_database = register_azure_file_share

    # ----------------------------------------------------------------- instance --
    def set_as_default(self) -> None:
        """Make this the workspace's default datastore."""
        if self.name in BUILT_IN:  # a row to carry the flag (its files stay where they are)
            self.workspace.store.add_datastore(
                self.name, {"type": BUILT_IN_TYPE}, None, time.time()
            )
        self.workspace.store.set_default_datastore(self.name)

    def unregister(self) -> None:
        """Forget this datastore (its files stay where they are)."""
        if self.name in BUILT_IN:
            raise UserErrorException(
                f"{self.name!r} is a built-in datastore; it cannot be unregistered."
            )
        if not self.workspace.store.delete_datastore(self.name):
            raise DatastoreNotFoundError(f"Datastore {self.name!r} was unregistered already.")

    def filesystem(self) -> tuple[Any, str]:
        """The fsspec file system of this datastore and the path of its root in it."""
        raise NotImplementedError

    def full_path(self, path: str) -> str:
        """The path in :meth:`filesystem` of ``path`` on this datastore."""
        _, root = self.filesystem()
        relative = clean_path(path).rstrip("/")
        return f"{root.rstrip('/')}/{relative}" if relative else root

    def describe(self, path: str = "") -> str:
        """How messages name ``path`` on this datastore."""
        return f"{path or '/'!r} on datastore {self.name!r}"

    def upload(
        self,
        src_dir: str | Path,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Copy every file of the local folder ``src_dir`` to ``target_path`` here.

        Args:
            src_dir: the local folder.
            target_path: the folder on the datastore (default: its root).
            overwrite: replace files that exist there.
            show_progress: print what was uploaded.

        Returns:
            A ``DataReference`` to ``target_path``.

        Raises:
            DataAccessError: a file exists there already (without ``overwrite``); nothing
                is then written.
        """
        folder = Path(src_dir).expanduser()
        if not folder.is_dir():
            raise UserErrorException(f"src_dir {str(src_dir)!r} is not a folder.")
        files = list(filesystems.walk_local(folder))
        names = [f.relative_to(folder).as_posix() for f in files]
        return self._upload(files, names, target_path, overwrite, show_progress)

    def upload_files(
        self,
        files: Iterable[str | Path],
        relative_root: str | Path | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Copy local files here, below ``target_path`` (v1 signature).

        Each file keeps its path relative to ``relative_root`` (default: only its name).

        Args:
            files: local file paths.
            relative_root: the folder the files' paths on the datastore are relative to.
            target_path: the folder on the datastore (default: its root).
            overwrite: replace files that exist there.
            show_progress: print what was uploaded.

        Returns:
            A ``DataReference`` to ``target_path``.
        """
        if isinstance(files, (str, Path)):
            raise ArgumentTypeError("files must be a list of file paths, not one path.")
        paths = [Path(f).expanduser() for f in files]
        root = Path(relative_root).expanduser().resolve() if relative_root is not None else None
        names = []
        for path in paths:
            if not path.is_file():
                raise UserErrorException(f"{str(path)!r} is not a file.")
            if root is None:
                names.append(path.name)
            else:
                try:
                    names.append(path.resolve().relative_to(root).as_posix())
                except ValueError:
                    raise UserErrorException(
                        f"{str(path)!r} is not inside relative_root {str(relative_root)!r}."
                    ) from None
        return self._upload(paths, names, target_path, overwrite, show_progress)

    def _upload(
        self,
        files: list[Path],
        names: list[str],
        target_path: str | None,
        overwrite: bool,
        show_progress: bool,
    ) -> DataReference:
        fs, _ = self.filesystem()
        base = clean_path(target_path, "target_path").rstrip("/")
        pairs = [
            (f, self.full_path(f"{base}/{n}" if base else n))
            for f, n in zip(files, names, strict=True)
        ]
        filesystems.upload_tree(fs, pairs, overwrite, f"datastore {self.name!r}")
        if show_progress:
            print(f"Uploaded {len(pairs)} file(s) to {self.describe(base)}", flush=True)
        return self.path(base)

    def download(
        self,
        target_path: str | Path,
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Copy the files below ``prefix`` (default: all) into the local ``target_path``.

        Args:
            target_path: the local folder (the prefix's folders are kept below it).
            prefix: a file or folder on the datastore.
            overwrite: replace local files that exist.
            show_progress: print what was downloaded.

        Returns:
            The number of files copied.
        """
        fs, _ = self.filesystem()
        base = clean_path(prefix, "prefix")
        full = self.full_path(base)
        what = self.describe(base)
        empty_folder = (
            base
            and filesystems.guarded(lambda: fs.isdir(full), what)
            and not filesystems.guarded(lambda: fs.find(full), what)
        )
        if empty_folder:  # an output that wrote nothing: nothing to copy
            return 0
        files = filesystems.expand(fs, full, self.describe(base))
        folder = Path(target_path).expanduser()
        if base.rstrip("/"):  # v1 keeps the prefix's folders below target_path
            parent = str(PurePosixPath(base.rstrip("/")).parent)
            prefix_dir = folder.joinpath(*PurePosixPath(parent).parts) if parent != "." else folder
            if len(files) == 1 and files[0].name == PurePosixPath(base).name:
                folder = prefix_dir
            else:
                folder = folder.joinpath(*PurePosixPath(base.rstrip("/")).parts)
        written = filesystems.copy_to(files, folder, overwrite)
        if show_progress:
            print(f"Downloaded {len(written)} file(s) from {self.describe(base)}", flush=True)
        return len(written)

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A ``DataReference`` to ``path`` on this datastore (default: its root)."""
        return DataReference(self, data_reference_name, path)

    def as_mount(self) -> DataReference:
        """The datastore's root, bound to a job as a mount."""
        return self.path().as_mount()

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        """The datastore's root, copied to the job before it starts."""
        return self.path().as_download(path_on_compute)

    def as_upload(self, path_on_compute: str | None = None) -> DataReference:
        """The datastore's root as a job output."""
        return self.path().as_upload(path_on_compute)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Datastore)
            and other.workspace == self.workspace
            and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((self.workspace, self.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, datastore_type={self.datastore_type!r})"


class WorkspaceDatastore(Datastore):
    """A built-in datastore: a folder of the workspace's artifacts location."""

    datastore_type = "AzureBlob"

    @property
    def location(self) -> str:
        """The folder (or object-storage URL) holding the datastore's files."""
        base = self.workspace.artifacts.location.rstrip("/")
        return f"{base}/{FOLDER}/{self.name}"

    def filesystem(self) -> tuple[Any, str]:
        """The local file system and the folder; or the object store and its path."""
        location = self.location
        if filesystems.protocol_of(location) is None:
            Path(location).mkdir(parents=True, exist_ok=True)
            return filesystems.local_fs(), str(Path(location).resolve())
        return filesystems.url_fs(location)

    @property
    def container_name(self) -> str:
        """v1 attribute: the folder holding the files (a local workspace has no container)."""
        return self.location

    @property
    def account_name(self) -> str:
        """v1 attribute: ``local`` (a local workspace has no storage account)."""
        return "local"

    def __repr__(self) -> str:
        return (
            f"WorkspaceDatastore(name={self.name!r}, datastore_type={self.datastore_type!r}, "
            f"location={self.location!r})"
        )


class AzureBlobDatastore(Datastore):
    """An Azure Blob container registered as a datastore (v1 ``AzureBlobDatastore``)."""

    datastore_type = "AzureBlob"
    _definition: dict[str, Any]
    _secret: dict[str, str] | None
    _sealed: Mapping[str, str] | None

    @classmethod
    def _built(
        cls,
        workspace: Workspace,
        name: str,
        definition: Mapping[str, Any],
        secret: Mapping[str, str] | None = None,
        sealed: Mapping[str, str] | None = None,
    ) -> AzureBlobDatastore:
        store = object.__new__(cls)
        store._setup(workspace, name)
        store._definition = dict(definition)
        store._secret = dict(secret) if secret is not None else None
        store._sealed = sealed
        return store

    @property
    def container_name(self) -> str:
        """The blob container."""
        return str(self._definition["container_name"])

    @property
    def account_name(self) -> str:
        """The storage account."""
        return str(self._definition["account_name"])

    @property
    def protocol(self) -> str:
        """``https`` or ``http``."""
        return str(self._definition.get("protocol", "https"))

    @property
    def endpoint(self) -> str:
        """The storage endpoint (``core.windows.net``, or an emulator's ``host:port``)."""
        return str(self._definition.get("endpoint", "core.windows.net"))

    @property
    def credential_type(self) -> str:
        """``AccountKey`` or ``Sas`` (v1)."""
        return str(self._definition.get("credential_type", "AccountKey"))

    @property
    def account_key(self) -> None:
        """Never given back (v1 returned it; here credentials stay sealed)."""
        return None

    @property
    def sas_token(self) -> None:
        """Never given back (v1 returned it; here credentials stay sealed)."""
        return None

    def blob_endpoint(self) -> str:
        """The account's blob service URL (path-style for an emulator on an IP/localhost)."""
        host = self.endpoint.rsplit(":", 1)[0] if ":" in self.endpoint else self.endpoint
        if host == "localhost" or _is_ip(host):
            return f"{self.protocol}://{self.endpoint}/{self.account_name}"
        return f"{self.protocol}://{self.account_name}.blob.{self.endpoint}"

    def _credentials(self) -> dict[str, str]:
        if self._secret is None:
            if self._sealed is None:
                raise DataAccessError(f"Datastore {self.name!r} has no stored credentials.")
            self._secret = secrets.unseal(self._sealed, f"datastore {self.name!r}")
        return self._secret

    def filesystem(self) -> tuple[Any, str]:
        """Adlfs' file system for the account, and the container as root."""
        try:
            from adlfs import AzureBlobFileSystem
        except ImportError:
            raise DataAccessError(
                f"Datastore {self.name!r} is an Azure Blob container: pip install "
                "'run_widgets[azure]' (adlfs)."
            ) from None
        credentials = self._credentials()
        parts = [
            f"DefaultEndpointsProtocol={self.protocol}",
            f"AccountName={self.account_name}",
            f"BlobEndpoint={self.blob_endpoint()}",
        ]
        if "account_key" in credentials:
            parts.append(f"AccountKey={credentials['account_key']}")
        else:
            parts.append(f"SharedAccessSignature={credentials['sas_token'].lstrip('?')}")
        fs = AzureBlobFileSystem(connection_string=";".join(parts) + ";", skip_instance_cache=True)
        return fs, self.container_name

    def _validate(self, create: bool) -> None:
        """List the container once (a wrong key or name fails here, naming it)."""
        fs, root = self.filesystem()
        what = f"container {self.container_name!r} of storage account {self.account_name!r}"
        try:
            fs.ls(root, detail=False)
        except FileNotFoundError:
            if not create:
                raise DataAccessError(
                    f"The {what} does not exist (pass create_if_not_exists=True to create it)."
                ) from None
            filesystems.guarded(lambda: fs.mkdir(root), what)
        except Exception as error:
            text = str(error)
            refused = ("AuthorizationFailure", "AuthenticationFailed", "authenticate")
            if any(word in text for word in refused):
                raise DataAccessError(
                    f"Azure refused the credentials given for the {what} "
                    f"({self.credential_type} rejected): check the account key or SAS token."
                ) from None
            raise DataAccessError(
                f"The {what} cannot be reached: {filesystems.short(error)}"
            ) from None

    def __repr__(self) -> str:
        return (
            f"AzureBlobDatastore(name={self.name!r}, container_name={self.container_name!r}, "
            f"account_name={self.account_name!r}, protocol={self.protocol!r}, "
            f"endpoint={self.endpoint!r}, credential_type={self.credential_type!r})"
        )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _built_in(workspace: Workspace, name: str) -> WorkspaceDatastore:
    store = object.__new__(WorkspaceDatastore)
    store._setup(workspace, name)
    return store


def _from_record(workspace: Workspace, record: Any) -> Datastore:
    definition = dict(record.definition)
    if definition.get("type") == BUILT_IN_TYPE and record.name in BUILT_IN:
        return _built_in(workspace, record.name)
    if definition.get("type") == AzureBlobDatastore.datastore_type:
        return AzureBlobDatastore._built(workspace, record.name, definition, sealed=record.secret)
    raise UserErrorException(
        f"Datastore {record.name!r} is of type {definition.get('type')!r}, which this version "
        "of run_widgets cannot use."
    )


def list_datastores(workspace: Workspace) -> dict[str, Datastore]:
    """Every datastore of the workspace by name, built-in ones first (``ws.datastores``)."""
    found: dict[str, Datastore] = {n: _built_in(workspace, n) for n in BUILT_IN}
    for record in workspace.store.list_datastores():
        found[record.name] = _from_record(workspace, record)
    return found


def _load(workspace: Workspace, name: str) -> Datastore:
    if name in BUILT_IN:
        return _built_in(workspace, name)
    record = workspace.store.get_datastore(name)
    if record is None:
        known = sorted(list_datastores(workspace))
        raise DatastoreNotFoundError(
            f"No datastore named {name!r} in workspace {workspace.name!r}; it has: "
            f"{', '.join(known)}."
        )
    return _from_record(workspace, record)


def _default(workspace: Workspace) -> Datastore:
    return _load(workspace, workspace.store.get_default_datastore_name() or DEFAULT_NAME)


def resolve_datastore(workspace: Workspace, datastore: Any) -> Datastore:
    """A datastore given as an object or a name, checked to belong to ``workspace``."""
    if isinstance(datastore, str):
        return Datastore(workspace, datastore)
    if isinstance(datastore, Datastore):
        if datastore.workspace != workspace:
            raise UserErrorException(
                f"Datastore {datastore.name!r} belongs to another workspace "
                f"({datastore.workspace.name!r})."
            )
        return datastore
    raise ArgumentTypeError(f"Expected a Datastore or its name, not {type(datastore).__name__}.")
