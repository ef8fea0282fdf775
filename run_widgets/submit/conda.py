"""``CondaDependencies``: v1's description of an environment's packages, as conda YAML.

The structure is the conda ``environment.yml`` one v1 kept (``name``, ``channels``,
``dependencies`` with ``python=X.Y``, conda packages and one ``{"pip": [...]}`` entry), so
files written by v1 load here and files saved here load in conda. Locally there is no
conda: ``pip_requirements()`` turns the whole specification into pip requirements, and a
conda package with no pip counterpart (CUDA, MKL, compilers, R, …) is refused with an
error naming it before anything runs.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from ..exceptions import UserErrorException

PIP = "pip"
PYTHON = "python"
DEPENDENCIES = "dependencies"
CHANNELS = "channels"
VALID_KEYS = ("name", "channels", "dependencies", "prefix", "variables")
CURRENT_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

# conda names whose pip distribution is called differently
CONDA_TO_PIP = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-xgboost": "xgboost",
    "py-lightgbm": "lightgbm",
    "pytables": "tables",
    "matplotlib-base": "matplotlib",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "python-graphviz": "graphviz",
    "msgpack-python": "msgpack",
    "tensorflow-gpu": "tensorflow",
    "pyqt": "PyQt5",
}
# conda packages that are not Python distributions: there is nothing to pip-install
CONDA_ONLY = frozenset(
    {
        "cudatoolkit",
        "cudnn",
        "nccl",
        "mkl",
        "mkl-include",
        "intel-openmp",
        "nomkl",
        "openblas",
        "blas",
        "libblas",
        "liblapack",
        "ffmpeg",
        "openjdk",
        "nodejs",
        "gcc",
        "gxx",
        "gfortran",
        "cxx-compiler",
        "c-compiler",
        "compilers",
        "make",
        "cmake",
        "git",
        "curl",
        "graphviz",
        "openssl",
        "zlib",
        "hdf5",
        "r-base",
        "r",
        "cuda",
        "magma",
        "openmpi",
        "mpich",
        "ncurses",
        "readline",
        "sqlite",
        "tk",
        "xz",
    }
)
CONDA_ONLY_PREFIXES = (
    "cuda-",
    "libcu",
    "libgcc",
    "libstdcxx",
    "libgfortran",
    "libopenblas",
    "r-",
    "magma-",
    "gxx_",
    "gcc_",
)
NOT_NEEDED = frozenset({"pip", "setuptools", "wheel"})
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


class CondaOnlyPackageError(UserErrorException):
    """Conda packages that have no pip counterpart: the environment cannot be built."""


class CondaDependencies:
    """An environment's packages (v1 ``azureml.core.conda_dependencies.CondaDependencies``).

    Args:
        conda_dependencies_file_path: a conda ``environment.yml`` to load; without it the
            specification holds only ``python=<this interpreter's X.Y>``.
    """

    def __init__(
        self,
        conda_dependencies_file_path: str | os.PathLike[str] | None = None,
        _underlying_structure: dict[str, Any] | None = None,
    ) -> None:
        if conda_dependencies_file_path is not None:
            structure = _load_yaml(Path(conda_dependencies_file_path))
        elif _underlying_structure is not None:
            structure = _underlying_structure
        else:
            structure = {DEPENDENCIES: [f"{PYTHON}={CURRENT_PYTHON}"]}
        self._spec: dict[str, Any] = _validated(structure, "the conda specification")

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """A specification with these packages (v1 ``CondaDependencies.create``).

        Args:
            pip_indexurl: an extra index to install from (``--extra-index-url``).
            pip_packages: pip requirements, e.g. ``["scikit-learn==1.5.*"]``.
            conda_packages: conda packages; turned into pip requirements when built.
            python_version: the Python wanted (default: this interpreter's). Local
                environments always use this interpreter's version; another one is noted
                with a warning when the environment is built.
            pin_sdk_version: accepted for v1 compatibility (``azureml-*`` packages are
                provided by run_widgets itself).

        Returns:
            The new ``CondaDependencies``.
        """
        dependencies = CondaDependencies()
        if python_version is not None:
            dependencies.set_python_version(python_version)
        if pip_indexurl:
            dependencies.set_pip_option(f"--extra-index-url {pip_indexurl}")
        for package in pip_packages or []:
            dependencies.add_pip_package(package)
        for package in conda_packages or []:
            dependencies.add_conda_package(package)
        return dependencies

    # ------------------------------------------------------------------------ reading --
    @property
    def conda_channels(self) -> list[str]:
        """The conda channels (kept for conda; unused locally)."""
        return [str(c) for c in self._spec.get(CHANNELS) or []]

    @property
    def conda_packages(self) -> list[str]:
        """The conda packages, ``python`` excluded."""
        return [d for d in self._strings() if _package_name(d) != PYTHON]

    @property
    def pip_packages(self) -> list[str]:
        """The pip requirements (options such as ``--index-url`` excluded)."""
        return [p for p in self._pip_list() if not p.startswith("-")]

    @property
    def pip_options(self) -> list[str]:
        """The pip options (``--extra-index-url …``)."""
        return [p for p in self._pip_list() if p.startswith("-")]

    def get_python_version(self) -> str | None:
        """The Python version asked for (``python=X.Y`` in the dependencies), if any."""
        for item in self._strings():
            if _package_name(item) == PYTHON:
                return _conda_version(item) or None
        return None

    # ------------------------------------------------------------------------ editing --
    def set_python_version(self, version: str) -> None:
        """Ask for Python ``version`` (replaces any earlier ``python=`` entry)."""
        if not isinstance(version, str) or not re.fullmatch(r"\d+(\.\d+){0,2}", version):
            raise UserErrorException(f"Invalid python version {version!r}: expected e.g. '3.11'.")
        entries = self._dependencies()
        for index, item in enumerate(entries):
            if isinstance(item, str) and _package_name(item) == PYTHON:
                entries[index] = f"{PYTHON}={version}"
                return
        entries.insert(0, f"{PYTHON}={version}")

    def add_channel(self, channel: str) -> None:
        """Add a conda channel."""
        channels = self._spec.setdefault(CHANNELS, [])
        if channel not in channels:
            channels.append(_text(channel, "channel"))

    def remove_channel(self, channel: str) -> None:
        """Remove a conda channel."""
        channels = self._spec.get(CHANNELS) or []
        if channel in channels:
            channels.remove(channel)

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package (``python=X.Y`` sets the Python version)."""
        package = _text(conda_package, "conda package")
        if _package_name(package) == PYTHON:
            self.set_python_version(_conda_version(package))
            return
        entries = self._dependencies()
        if package not in entries:
            position = next((i for i, d in enumerate(entries) if isinstance(d, dict)), len(entries))
            entries.insert(position, package)

    def remove_conda_package(self, conda_package: str) -> None:
        """Remove a conda package (not ``python``)."""
        if _package_name(conda_package) == PYTHON:
            raise UserErrorException("python must not be removed from conda dependencies")
        entries = self._dependencies()
        if conda_package in entries:
            entries.remove(conda_package)

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip requirement; an earlier one for the same package is replaced."""
        package = _text(pip_package, "pip package")
        if package.startswith("-"):
            raise UserErrorException(f"Invalid package name {package}")
        self.remove_pip_package(package)
        self._pip_list(create=True).append(package)

    def remove_pip_package(self, pip_package: str) -> None:
        """Remove the pip requirement for this package, whatever its version."""
        if pip_package.startswith("-"):
            raise UserErrorException(f"Invalid package name {pip_package}")
        name = _normalized(_package_name(pip_package))
        entries = self._pip_list()
        for entry in [e for e in entries if not e.startswith("-")]:
            if _normalized(_package_name(entry)) == name:
                entries.remove(entry)

    def set_pip_option(self, pip_option: str) -> None:
        """Add or replace a pip option such as ``--extra-index-url URL``."""
        option = _text(pip_option, "pip option")
        if not option.startswith("-"):
            raise UserErrorException(f"Invalid pip option {option}")
        entries = self._pip_list(create=True)
        flag = option.split()[0]
        for index, entry in enumerate(entries):
            if entry.startswith("-") and entry.split()[0] == flag:
                entries[index] = option
                return
        entries.append(option)

    def set_pip_requirements(self, pip_requirements: list[str]) -> None:
        """Replace the whole pip section."""
        entries = self._pip_list(create=True)
        entries[:] = [_text(r, "pip requirement") for r in pip_requirements]

    # ------------------------------------------------------------------ serialization --
    def serialize_to_string(self) -> str:
        """The specification as conda YAML."""
        import yaml

        return str(yaml.safe_dump(self._spec, sort_keys=False, default_flow_style=False))

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the specification to the file ``path`` (not a folder); return its path."""
        target = Path(path)
        if target.is_dir():
            raise UserErrorException(
                "Cannot save a conda environment specification file to a directory. Please "
                "specify a fully qualified path along with the file name to save the file."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.serialize_to_string(), encoding="utf-8")
        return os.path.normpath(str(target))

    def save_to_file(self, base_directory: str, conda_file_path: str | None = None) -> str:
        """Deprecated v1 form of ``save``: ``base_directory/conda_file_path``."""
        return self.save(Path(base_directory) / (conda_file_path or "conda_dependencies.yml"))

    def as_dict(self) -> dict[str, Any]:
        """A plain copy of the specification."""
        import yaml

        return _validated(yaml.safe_load(self.serialize_to_string()), "the specification")

    # ------------------------------------------------------------------------- local --
    def pip_requirements(self) -> list[str]:
        """Everything as pip requirements: conda packages mapped, then the pip section.

        Returns:
            The requirement strings, e.g. ``["numpy==1.26.*", "scikit-learn"]``.

        Raises:
            UserErrorException: conda packages with no pip counterpart, all named
                (``CondaOnlyPackageError``).
        """
        mapped: list[str] = []
        refused: list[str] = []
        for package in self.conda_packages:
            requirement = conda_to_pip(package)
            if requirement is None:
                if _normalized(_package_name(_strip_channel(package))) not in NOT_NEEDED:
                    refused.append(package)
            else:
                mapped.append(requirement)
        if refused:
            raise CondaOnlyPackageError(
                f"Conda package(s) {', '.join(map(repr, refused))} have no pip equivalent, and "
                "local environments are built with pip only. Remove them, or use "
                "python.user_managed_dependencies=True with an interpreter that has them."
            )
        return [*mapped, *self.pip_packages]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CondaDependencies) and other._spec == self._spec

    def __repr__(self) -> str:
        return f"CondaDependencies({self.as_dict()!r})"

    # ---------------------------------------------------------------------- internals --
    def _dependencies(self) -> list[Any]:
        entries = self._spec.setdefault(DEPENDENCIES, [])
        assert isinstance(entries, list)
        return entries

    def _strings(self) -> list[str]:
        return [d for d in self._dependencies() if isinstance(d, str)]

    def _pip_list(self, create: bool = False) -> list[str]:
        for item in self._dependencies():
            if isinstance(item, dict) and PIP in item:
                entries = item[PIP]
                if entries is None:
                    entries = item[PIP] = []
                return entries  # type: ignore[no-any-return]
        if not create:
            return []
        entries = []
        self._dependencies().append({PIP: entries})
        return entries


def conda_to_pip(package: str) -> str | None:
    """The pip requirement for a conda package spec, or None if it is not a Python package.

    ``numpy=1.26`` → ``numpy==1.26.*``; ``pandas=2.1.4=py311h_0`` → ``pandas==2.1.4``;
    ``conda-forge::pytorch>=2`` → ``torch>=2``.
    """
    spec = _strip_channel(package.strip())
    name = _package_name(spec)
    key = _normalized(name)
    if key in NOT_NEEDED or key == PYTHON:
        return None
    if key in CONDA_ONLY or key.startswith(CONDA_ONLY_PREFIXES):
        return None
    pip_name = CONDA_TO_PIP.get(key, name)
    rest = spec[len(name) :].strip()
    if not rest:
        return pip_name
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=")[0].strip()
        if not version:
            return pip_name
        return (
            f"{pip_name}=={version}"
            if version.endswith("*") or _is_full(version)
            else (f"{pip_name}=={version}.*")
        )
    if rest.startswith(("==", ">=", "<=", "!=", "<", ">", "~=")):
        return f"{pip_name}{rest.split(' ')[0]}" if " " in rest else f"{pip_name}{rest}"
    return f"{pip_name}=={rest}"


def _is_full(version: str) -> bool:
    return version.count(".") >= 2


def _strip_channel(spec: str) -> str:
    return spec.split("::", 1)[1] if "::" in spec else spec


def _package_name(spec: str) -> str:
    match = _NAME.match(_strip_channel(spec))
    return match.group(1) if match else spec.strip()


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _conda_version(spec: str) -> str:
    rest = spec.strip()[len(_package_name(spec)) :].lstrip("=<>!~ ")
    return rest.split("=")[0].strip()


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UserErrorException(f"A {what} must be a non-empty str, not {value!r:.60}.")
    return value.strip()


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserErrorException(f"Cannot read the conda specification {path}: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UserErrorException(f"{path} is not valid YAML: {error}") from None
    return _validated(data, str(path))


def _validated(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserErrorException(f"Environment error: {where} is not a valid YAML structure")
    for key in data:
        if str(key) not in VALID_KEYS:
            raise UserErrorException(
                f"Environment error: unknown {key} key in environment specification ({where})"
            )
    dependencies = data.get(DEPENDENCIES)
    if dependencies is not None and not isinstance(dependencies, list):
        raise UserErrorException(f"Environment error: 'dependencies' in {where} must be a list")
    return data
