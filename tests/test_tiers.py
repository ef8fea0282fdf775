"""The suite's tiers and worker groups (the root conftest.py), checked on a small fake suite.

``--quick`` must leave out every test that needs a browser, a kernel or a server, whether
it says so by a marker, by its folder, by a server fixture or by the ``postgresql`` store
backend; and under pytest-xdist the tests that share a resource must land on one worker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

FAKE_CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def pg_server():
    return "server"

@pytest.fixture(scope="session")
def mlflow_server():
    return "server"

@pytest.fixture
def pg_uri(pg_server):
    return pg_server

@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param

def pytest_collection_finish(session):
    for item in session.items:
        names = sorted({m.name for m in item.iter_markers()} & {
            "browser", "notebook", "postgres", "dask", "mlflow", "slow", "fault"})
        print("MARKS", item.name, ",".join(names))
"""

FAKE_TESTS = {
    "tests/test_plain.py": """
import pytest

def test_plain():
    pass

def test_on_a_backend(backend):
    pass

@pytest.mark.slow
def test_slow():
    pass

@pytest.mark.dask
def test_dask():
    pass

def test_pg(pg_uri):
    pass

def test_mlflow(mlflow_server):
    pass

def test_asks_late(request):
    request.getfixturevalue("pg_server")
""",
    "tests/browser/test_page.py": "def test_page_one():\n    pass\n\n"
    "def test_page_two():\n    pass\n",
    "tests/fault/test_crash.py": "def test_crash():\n    pass\n",
}


@pytest.fixture
def fake_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with the real root conftest.py and markers, and a few fake tests (run
    without the installed plugins but xdist, which is what loading them would cost)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "conftest.py").write_text(FAKE_CONFTEST)
    for name, code in FAKE_TESTS.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    markers = "\n".join(
        f"    {name}: x"
        for name in ("browser", "notebook", "postgres", "dask", "mlflow", "slow", "fault")
    )
    pytester.makeini(
        f"[pytest]\naddopts = --strict-markers -p no:cacheprovider -p xdist --import-mode=importlib\n"
        f"markers =\n{markers}\n"
    )
    return pytester


def test_quick_keeps_only_what_needs_no_server_kernel_or_browser(
    fake_suite: pytest.Pytester,
) -> None:
    result = fake_suite.runpytest("--quick", "-v", "-k", "not asks_late")
    result.assert_outcomes(passed=3, deselected=8)
    ran = set(re.findall(r"::(test_\w+(?:\[\w+\])?) PASSED", result.stdout.str()))
    assert ran == {"test_plain", "test_on_a_backend[sqlite]", "test_crash"}


def test_markers_come_from_folders_fixtures_and_parameters(fake_suite: pytest.Pytester) -> None:
    result = fake_suite.runpytest("--collect-only", "-q", "-s")
    marks = dict(line.split(" ", 2)[1:] for line in result.outlines if line.startswith("MARKS "))
    assert marks == {
        "test_plain": "",
        "test_on_a_backend[sqlite]": "",
        "test_on_a_backend[postgresql]": "postgres",
        "test_slow": "slow",
        "test_dask": "dask",
        "test_pg": "postgres",
        "test_mlflow": "mlflow",
        "test_asks_late": "",  # found out when it runs (the test below)
        "test_page_one": "browser",
        "test_page_two": "browser",
        "test_crash": "fault",
    }


def test_a_quick_test_that_asks_for_a_server_fails_and_says_so(
    fake_suite: pytest.Pytester,
) -> None:
    result = fake_suite.runpytest("--quick", "-k", "asks_late")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*uses pg_server in the quick tier; mark it 'postgres'*"])


def test_tests_sharing_a_resource_run_on_one_worker(fake_suite: pytest.Pytester) -> None:
    result = fake_suite.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-v")
    result.assert_outcomes(passed=11)
    ran = re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED \S+::(test_\w+)", result.stdout.str())
    shared = [
        worker for worker, name in ran if name in ("test_page_one", "test_page_two", "test_mlflow")
    ]
    assert len(shared) == 3 and len(set(shared)) == 1, result.stdout.str()
    assert len({worker for worker, _ in ran}) == 2, result.stdout.str()  # both workers used
