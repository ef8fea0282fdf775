"""How the suite is split: tiers (markers, ``--quick``) and groups of tests for xdist workers.

Suite-wide, so that it holds for ``pytest tests``, ``pytest notebooks`` and both. Fixtures
live in tests/conftest.py (and notebooks/conftest.py for nbval's kernels).

**Markers** (registered in pyproject.toml) are applied here from what a test uses, not by
hand on each function:

- ``browser``: every test in tests/browser/ (real JupyterLab/Notebook 7/Voilà in Chromium);
- ``fault``: every test in tests/fault/;
- ``notebook``: every nbval cell of notebooks/*.ipynb (tests that start kernels
  themselves carry the marker in their module);
- ``postgres``: a test that uses the PostgreSQL server fixture, or is parametrized with the
  ``postgresql`` store backend;
- ``mlflow``: a test that uses the MLflow server fixture;
- ``dask`` and ``slow``: by hand, on the modules or tests they describe.

**The quick tier** (``pytest --quick``, ``./scripts/test --quick``) keeps the tests that carry
none of ``browser``, ``notebook``, ``postgres``, ``dask``, ``mlflow`` and ``slow``: the
kernel-free unit tier for the edit-test loop. It starts no server: a quick test that asks
for a server fixture fails and says which.

**Parallel workers** (pytest-xdist, ``-n 2 --dist loadgroup`` as scripts/test runs it): tests
that share a heavy resource run on one worker, one after another, in one ``xdist_group``:
the browser tests and the MLflow server's tests together (one JupyterLab and one Chromium
at a time on the machine, one MLflow server: a browser test uses it too), each notebook's
cells (its kernel runs them in order), and each module whose tests share a module-scoped
fixture (e.g. a Dask cluster). Other tests go one by one to whichever worker is free. The
PostgreSQL server (session-scoped) starts once per worker that needs one, in its own
temporary folder on its own free port; every test has its own ``tmp_path``,
``RUN_WIDGETS_HOME`` and working directory (tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
QUICK_EXCLUDES = ("browser", "notebook", "postgres", "dask", "mlflow", "slow")
"""Markers of the tests the quick tier leaves out."""

FOLDER_MARKERS = {ROOT / "tests" / "browser": "browser", ROOT / "tests" / "fault": "fault"}
"""Every test under one of these folders carries the marker."""

SERVER_FIXTURES = {"pg_server": "postgres", "mlflow_server": "mlflow"}
"""Fixtures that start a server, and the marker of the tests that use them."""

SHARED_SERVERS_GROUP = "browser-mlflow"
"""The xdist group of the browser tests and of the MLflow server's tests."""

POSTGRES_PARAM = "postgresql"
"""The parameter id of the PostgreSQL store backend (store fixtures are parametrized)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--quick``: run only the kernel-free unit tier."""
    parser.addoption(
        "--quick",
        action="store_true",
        default=False,
        help="run only the kernel-free unit tier: tests with none of the markers "
        + ", ".join(QUICK_EXCLUDES),
    )


def _markers_of(item: pytest.Item) -> set[str]:
    """The tier markers ``item`` gets from where it lives and what it uses."""
    markers: set[str] = set()
    path = item.path
    for folder, marker in FOLDER_MARKERS.items():
        if folder in path.parents:
            markers.add(marker)
    if path.suffix == ".ipynb":
        markers.add("notebook")
    names = set(getattr(item, "fixturenames", ()))
    markers.update(marker for fixture, marker in SERVER_FIXTURES.items() if fixture in names)
    callspec = getattr(item, "callspec", None)
    if callspec is not None and POSTGRES_PARAM in callspec.id.split("-"):
        markers.add("postgres")
    return markers


def _group_of(item: pytest.Item) -> str | None:
    """The xdist group of tests that must share ``item``'s worker, if any."""
    if item.get_closest_marker("browser") or "mlflow_server" in getattr(item, "fixturenames", ()):
        return SHARED_SERVERS_GROUP
    path = item.path
    if path.suffix == ".ipynb":
        return f"notebook:{path.relative_to(ROOT).as_posix()}"
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    if any(d.scope in ("module", "package") for defs in definitions for d in defs):
        return f"module:{path.relative_to(ROOT).as_posix()}"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's worker files each test under its group
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Apply the tier markers and the xdist groups."""
    for item in items:
        for marker in sorted(_markers_of(item)):
            item.add_marker(marker)
        group = _group_of(item)
        if group is not None and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))


class AfterMarking:
    """What runs once every marker is applied (by this file or any other hook)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Check that xdist took the groups; keep only the quick tier under ``--quick``."""
        if getattr(config.option, "loadgroup", False):  # an xdist worker under loadgroup
            lost = [i.nodeid for i in items if i.get_closest_marker("xdist_group")]
            lost = [nodeid for nodeid in lost if "@" not in nodeid]
            if lost:
                raise pytest.UsageError(
                    f"pytest-xdist did not group {lost[0]} (and {len(lost) - 1} more): its"
                    " loadgroup fails under pytest 9.2 (pytest-dev/pytest-xdist#1386);"
                    " install the test extra's pytest"
                )
        if not config.getoption("quick"):
            return
        keep: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            heavy = any(item.get_closest_marker(name) for name in QUICK_EXCLUDES)
            (dropped if heavy else keep).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep


def pytest_configure(config: pytest.Config) -> None:
    """Register the checks and the selection that follow the marking."""
    config.pluginmanager.register(AfterMarking(), "run-widgets-after-marking")


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> None:
    """The quick tier starts no server: a quick test asking for one fails and says so."""
    marker = SERVER_FIXTURES.get(fixturedef.argname)
    if marker is not None and request.config.getoption("quick"):
        pytest.fail(
            f"{request.node.nodeid} uses {fixturedef.argname} in the quick tier; "
            f"mark it {marker!r} (or parametrize it by the fixture that does)",
            pytrace=False,
        )
