"""Isolated virtual environments for ``python.user_managed_dependencies = False``.

An environment is built once per content (its pip requirements, pip options and Python),
with uv, into ``<workspace>/envs/<hash>/``, and reused by every later run with the same
content. Why uv rather than ``venv`` + pip: it resolves and installs a few packages in about
a second from its shared, hard-linked cache (pip rebuilds each venv from scratch and is an
order of magnitude slower on the 2-core machines this runs on), it makes relocatable
environments (built in a temporary folder, then renamed into place, so a killed build never
leaves a half-made environment behind), and it is a single pip-installable binary.

The job still needs ``run_widgets`` itself (``Run.get_context()``), as v1 jobs needed
``azureml-defaults``: an *overlay* folder of symbolic links to run_widgets and its own
runtime dependencies (with the drivers of the installed store backends, so a job reaches
a PostgreSQL team store too) is added to the environment's ``sys.path`` after its site-packages,
so the environment's packages win, and nothing else of the submitting interpreter is
visible. The build output is streamed into the run's ``logs/image_build_log.txt``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..exceptions import UserErrorException
from ..store.registry import STORES

if TYPE_CHECKING:
    from importlib.metadata import Distribution

ENVS = "envs"
READY = "run_widgets_environment.json"
OVERLAY = "run_widgets_overlay"
OVERLAY_PTH = "_run_widgets_overlay.pth"
SIGNATURE = ".signature"
QUICK_SIGNATURE = ".quick-signature"
FORMAT = 1  # bump when the layout of a built environment changes
SDK_PREFIX = "azureml-"


class EnvironmentBuildError(UserErrorException):
    """An environment could not be built; the message names the packages and uv's reason."""


@dataclass(frozen=True)
class EnvironmentSpec:
    """What a built environment is made of.

    Attributes:
        name: the environment's name (for messages only; not part of the content).
        requirements: pip requirements, in order.
        pip_options: pip options such as ``--extra-index-url URL``.
    """

    name: str
    requirements: tuple[str, ...]
    pip_options: tuple[str, ...] = ()

    def installable(self) -> tuple[str, ...]:
        """The requirements uv installs: v1's ``azureml-*`` packages are run_widgets' job."""
        return tuple(r for r in self.requirements if not _is_sdk(r))

    def content_hash(self) -> str:
        """The cache key: requirements, options, Python version and layout format."""
        content = {
            "requirements": sorted(self.installable()),
            "options": list(self.pip_options),
            "python": sys.version,
            "implementation": sys.implementation.cache_tag,
            "format": FORMAT,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:24]


def validate_requirements(requirements: Sequence[str], where: str) -> tuple[str, ...]:
    """Check each requirement parses as a pip requirement; name the first that does not."""
    from packaging.requirements import InvalidRequirement, Requirement

    for requirement in requirements:
        try:
            Requirement(requirement)
        except InvalidRequirement as error:
            raise UserErrorException(
                f"{where}: {requirement!r} is not a valid pip requirement ({error})."
            ) from None
    return tuple(requirements)


def environment_python(folder: Path) -> Path:
    """The interpreter of a built environment."""
    return folder / "bin" / "python"


def uv_binary() -> str:
    """The uv executable shipped by the ``uv`` package."""
    from uv import find_uv_bin

    return str(find_uv_bin())


def ensure_environment(spec: EnvironmentSpec, workspace_folder: Path, log: IO[str]) -> Path:
    """The interpreter of the environment for ``spec``, built first if not cached.

    Concurrent callers (a sweep's trials) wait for one build and share it.

    Raises:
        EnvironmentBuildError: uv failed; nothing is left in the cache.
    """
    root = workspace_folder / ENVS
    root.mkdir(parents=True, exist_ok=True)
    key = spec.content_hash()
    target = root / key
    with _locked(root / f"{key}.lock"):
        if (target / READY).is_file():
            _say(log, f"Environment {spec.name!r}: reusing the cached build {key}.")
        else:
            _build(spec, target, log)
        _refresh_overlay(target, log)
    return environment_python(target)


def _build(spec: EnvironmentSpec, target: Path, log: IO[str]) -> None:
    building = target.with_name(f"{target.name}.building-{os.getpid()}")
    _remove_stale_builds(target)
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)  # a folder without READY is unfinished
    started = time.monotonic()
    _say(log, f"Building environment {spec.name!r} ({target.name}) with uv")
    skipped = [r for r in spec.requirements if _is_sdk(r)]
    if skipped:
        _say(log, f"Not installed (provided by run_widgets): {', '.join(skipped)}")
    try:
        _run_uv(
            [
                "venv",
                str(building),
                "--python",
                _base_interpreter(),
                "--relocatable",
                "--no-project",
                "--no-config",
            ],
            log,
        )
        installable = spec.installable()
        if installable:
            requirements = building / "requirements.txt"
            requirements.write_text(
                "\n".join([*spec.pip_options, *installable]) + "\n", encoding="utf-8"
            )
            _say(log, "Installing: " + ", ".join(installable))
            code, tail = _run_uv(
                [
                    "pip",
                    "install",
                    "--python",
                    str(environment_python(building)),
                    "--no-config",
                    "-r",
                    str(requirements),
                ],
                log,
                check=False,
            )
            if code != 0:
                raise EnvironmentBuildError(
                    f"Environment {spec.name!r} could not be built: installing its pip "
                    f"packages ({', '.join(installable)}) failed (uv exited with {code}):\n"
                    f"{tail}"
                )
        (building / READY).write_text(
            json.dumps(
                {
                    "name": spec.name,
                    "requirements": list(spec.requirements),
                    "pip_options": list(spec.pip_options),
                    "python": sys.version,
                }
            ),
            encoding="utf-8",
        )
        building.rename(target)
    except BaseException as error:
        shutil.rmtree(building, ignore_errors=True)
        _say(log, f"Environment build failed: {error}")
        raise
    _say(log, f"Environment {spec.name!r} built in {time.monotonic() - started:.1f} s.")


def _run_uv(arguments: list[str], log: IO[str], check: bool = True) -> tuple[int, str]:
    """Run uv, its output streamed line by line into ``log``; (exit code, last lines)."""
    command = [uv_binary(), *arguments]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
    env.setdefault("SSL_CERT_FILE", _certificates() or "")
    if not env["SSL_CERT_FILE"]:
        del env["SSL_CERT_FILE"]
    lines: list[str] = []
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            log.flush()
            lines.append(line.rstrip("\n"))
            del lines[:-30]
        code = process.wait()
    tail = "\n".join(lines[-15:])
    if check and code != 0:
        raise EnvironmentBuildError(f"uv {arguments[0]} failed (exit code {code}):\n{tail}")
    return code, tail


def _certificates() -> str | None:
    """The system CA bundle, if pip is told to use one (uv does not read pip's config)."""
    for candidate in (os.environ.get("PIP_CERT"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _base_interpreter() -> str:
    """The interpreter environments are made from: this one's base (not a venv's shim)."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def _remove_stale_builds(target: Path) -> None:
    """Drop the folders of builds whose process died (called under the lock)."""
    for leftover in target.parent.glob(f"{target.name}.building-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(log: IO[str], message: str) -> None:
    log.write(message + "\n")
    log.flush()


def _is_sdk(requirement: str) -> bool:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        name = canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return False
    return name.startswith(SDK_PREFIX) or name == "azureml"


# ---------------------------------------------------------------------------- overlay --
def _refresh_overlay(target: Path, log: IO[str]) -> None:
    """Link run_widgets and its runtime dependencies into the environment (under the lock).

    Rebuilt only when the submitting interpreter's packages changed since the last time.
    """
    overlay = target / OVERLAY
    quick = _quick_signature()
    if _read(overlay / QUICK_SIGNATURE) == quick:
        return  # nothing was installed or removed where this interpreter looks
    links = _overlay_links()
    signature = json.dumps(sorted((k, str(v)) for k, v in links.items()))
    if _read(overlay / SIGNATURE) == signature:
        (overlay / QUICK_SIGNATURE).write_text(quick, encoding="utf-8")
        return
    fresh = target / f"{OVERLAY}.new"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    for name, source in links.items():
        (fresh / name).symlink_to(source)
    (fresh / SIGNATURE).write_text(signature, encoding="utf-8")
    (fresh / QUICK_SIGNATURE).write_text(quick, encoding="utf-8")
    old = target / f"{OVERLAY}.old"
    shutil.rmtree(old, ignore_errors=True)
    if overlay.exists():
        overlay.rename(old)
    fresh.rename(overlay)
    shutil.rmtree(old, ignore_errors=True)
    site = _site_packages(target)
    relative = os.path.relpath(overlay, site)
    (site / OVERLAY_PTH).write_text(relative + "\n", encoding="utf-8")
    _say(log, f"Linked run_widgets and {len(links) - 1} entries it needs into the environment.")


def _quick_signature() -> str:
    """A cheap stamp of this interpreter's site-packages (the folders' mtimes).

    It changes whenever a distribution is installed or removed, so the full closure is
    recomputed only then.
    """
    import sysconfig

    folders = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    stamps = []
    for folder in sorted(folders):
        try:
            stamps.append(f"{folder}:{os.stat(folder).st_mtime_ns}")
        except OSError:
            stamps.append(f"{folder}:missing")
    return json.dumps([sys.prefix, str(Path(__file__).resolve().parent.parent), *stamps])


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _site_packages(target: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return target / "lib" / version / "site-packages"


def _overlay_links() -> dict[str, Path]:
    """Top-level import names (and dist-info folders) of run_widgets' runtime closure."""
    import sysconfig

    package = Path(__file__).resolve().parent.parent
    links: dict[str, Path] = {package.name: package}
    purelib = Path(sysconfig.get_paths()["purelib"])
    extras = sorted({backend.extra for backend in STORES.backends() if backend.extra})
    for distribution in _runtime_closure("run_widgets", extras):
        for top in _top_levels(distribution):
            if top in links or top == package.name:
                continue
            source = Path(str(distribution.locate_file(top)))
            if source.exists():
                links[top] = source
            elif (purelib / top).exists():
                links[top] = purelib / top
    return links


def _runtime_closure(root: str, extras: Sequence[str] = ()) -> list[Distribution]:
    """The installed distributions ``root`` (with ``extras``) needs at run time.

    A requirement's own extras are followed too (``psycopg[binary]`` brings
    ``psycopg-binary``); a distribution that is not installed is left out.
    """
    import importlib.metadata as metadata

    from packaging.markers import default_environment
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    environment = {k: str(v) for k, v in default_environment().items()}
    seen: dict[str, Distribution] = {}
    wanted: dict[str, set[str]] = {}  # the extras asked of each distribution
    pending: list[tuple[str, set[str]]] = [(root, set(extras))]
    while pending:
        raw, asked = pending.pop()
        name = canonicalize_name(raw)
        new = asked - wanted.get(name, set())
        if name in seen and not new:
            continue
        wanted.setdefault(name, set()).update(asked)
        try:
            distribution = seen.get(name) or metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        first_visit = name not in seen
        seen[name] = distribution
        for line in distribution.requires or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            applies = requirement.marker is None or any(
                requirement.marker.evaluate({**environment, "extra": extra})
                for extra in ([""] if first_visit else []) + sorted(new)
            )
            if applies:
                pending.append((requirement.name, set(requirement.extras)))
    return [d for n, d in seen.items() if n != canonicalize_name(root)] + (
        [seen[canonicalize_name(root)]] if canonicalize_name(root) in seen else []
    )


def _top_levels(distribution: Distribution) -> set[str]:
    tops: set[str] = set()
    for file in distribution.files or []:
        parts = file.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".pth"):
            continue
        if parts[0].startswith("__editable__"):
            continue
        tops.add(parts[0])
    return tops
