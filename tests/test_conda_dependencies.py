"""``CondaDependencies`` and ``Environment`` construction: v1 editing, YAML round trips, the
conda → pip mapping and its errors (no environment is built here)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
import yaml

from run_widgets import CondaDependencies, Environment, UserErrorException, Workspace
from run_widgets.submit.conda import CURRENT_PYTHON, CondaOnlyPackageError, conda_to_pip


def test_create_and_edit_like_v1() -> None:
    cd = CondaDependencies.create(
        pip_packages=["scikit-learn==1.5.*", "pandas"],
        conda_packages=["numpy=1.26"],
        python_version="3.11",
    )
    cd.add_pip_package("pillow==10.0.0")
    cd.add_pip_package("pandas>=2")  # replaces the earlier pandas
    cd.add_conda_package("scipy")
    assert cd.pip_packages == ["scikit-learn==1.5.*", "pillow==10.0.0", "pandas>=2"]
    assert cd.conda_packages == ["numpy=1.26", "scipy"]
    assert cd.get_python_version() == "3.11"
    cd.remove_pip_package("pillow")
    cd.remove_conda_package("scipy")
    assert cd.pip_requirements() == ["numpy==1.26.*", "scikit-learn==1.5.*", "pandas>=2"]
    with pytest.raises(UserErrorException, match="python must not be removed"):
        cd.remove_conda_package("python=3.11")
    with pytest.raises(UserErrorException, match="Invalid package name --index-url"):
        cd.add_pip_package("--index-url x")


def test_default_is_this_python_and_serialize_round_trips(tmp_path: Path) -> None:
    assert CondaDependencies().get_python_version() == CURRENT_PYTHON
    cd = CondaDependencies.create(
        pip_packages=["pyjokes"], pip_indexurl="https://example.org/simple"
    )
    data = yaml.safe_load(cd.serialize_to_string())
    assert data["dependencies"][0] == f"python={CURRENT_PYTHON}"
    assert data["dependencies"][-1] == {
        "pip": ["--extra-index-url https://example.org/simple", "pyjokes"]
    }
    path = cd.save(tmp_path / "env" / "conda.yml")
    assert CondaDependencies(path) == cd
    assert cd.pip_options == ["--extra-index-url https://example.org/simple"]
    with pytest.raises(UserErrorException, match="to a directory"):
        cd.save(tmp_path)


def test_conda_specification_file_as_v1_wrote_them(tmp_path: Path) -> None:
    spec = tmp_path / "environment.yml"
    spec.write_text(
        "name: project_environment\n"
        "dependencies:\n"
        "  - python=3.8.5\n"
        "  - conda-forge::pytorch=2.1\n"
        "  - pip=23.0\n"
        "  - pip:\n"
        "    - azureml-defaults\n"
        "    - pyjokes==0.8.3\n"
        "channels:\n"
        "  - conda-forge\n",
        encoding="utf-8",
    )
    env = Environment.from_conda_specification("torchy", spec)
    assert env.python.user_managed_dependencies is False
    assert env.pip_requirements() == ["torch==2.1.*", "azureml-defaults", "pyjokes==0.8.3"]
    assert env.python.conda_dependencies is not None
    assert env.python.conda_dependencies.conda_channels == ["conda-forge"]


def test_pip_requirements_file(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# comment\n--extra-index-url https://example.org/simple\npyjokes==0.8.3  # jokes\n\n",
        encoding="utf-8",
    )
    env = Environment.from_pip_requirements("jokes", requirements)
    assert env.pip_requirements() == ["pyjokes==0.8.3"]
    assert env.python.conda_dependencies is not None
    assert env.python.conda_dependencies.pip_options == [
        "--extra-index-url https://example.org/simple"
    ]
    requirements.write_text("pyjokes=>0.8\n", encoding="utf-8")
    with pytest.raises(UserErrorException, match=r"'pyjokes=>0\.8' is not a valid pip requirement"):
        Environment.from_pip_requirements("bad", requirements)
    with pytest.raises(UserErrorException, match="Cannot read the requirements file"):
        Environment.from_pip_requirements("missing", tmp_path / "nope.txt")


@pytest.mark.parametrize(
    ("conda", "pip"),
    [
        ("scikit-learn", "scikit-learn"),
        ("numpy=1.26", "numpy==1.26.*"),
        ("pandas=2.1.4=py311h_0", "pandas==2.1.4"),
        ("pytorch>=2", "torch>=2"),
        ("py-xgboost==2.0.3", "xgboost==2.0.3"),
        ("librosa", "librosa"),
        ("cudatoolkit=11.8", None),
        ("mkl", None),
        ("r-base", None),
        ("pip", None),
    ],
)
def test_conda_to_pip(conda: str, pip: str | None) -> None:
    assert conda_to_pip(conda) == pip


def test_conda_only_packages_are_named_in_one_error() -> None:
    cd = CondaDependencies.create(conda_packages=["scikit-learn", "cudatoolkit=11.8", "mkl"])
    with pytest.raises(
        CondaOnlyPackageError, match=r"'cudatoolkit=11\.8', 'mkl' have no pip equivalent"
    ):
        cd.pip_requirements()


def test_user_managed_follows_v1_defaults() -> None:
    env = Environment("plain")
    assert env.python.user_managed_dependencies is True  # nothing to build: this interpreter
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["pyjokes"])
    assert env.python.user_managed_dependencies is False  # v1's default once packages are set
    env.python.user_managed_dependencies = True
    assert env.python.user_managed_dependencies is True
    with pytest.raises(TypeError, match="must be True or False"):
        env.python.user_managed_dependencies = "yes"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="must be a CondaDependencies"):
        env.python.conda_dependencies = ["pyjokes"]  # type: ignore[assignment]


def test_environment_dict_round_trip() -> None:
    env = Environment("jokes")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["pyjokes==0.8.3"])
    env.environment_variables = {"A": "1"}
    env.docker.enabled = True
    again = Environment.from_dict(env.to_dict())
    assert again.to_dict() == env.to_dict()
    assert again.python.conda_dependencies == env.python.conda_dependencies


def test_curated_names_resolve_to_this_interpreter_with_one_warning(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from run_widgets.exceptions import RunWidgetsWarning
    from run_widgets.submit import config

    monkeypatch.setattr(config, "_CURATED_WARNED", set())  # "once per name" is per process

    with pytest.warns(RunWidgetsWarning, match="'AzureML-Minimal' is a curated Azure ML"):
        env = Environment.get(ws, "AzureML-Minimal")
    assert env.python.user_managed_dependencies is True
    assert env.python.interpreter_path == sys.executable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Environment.get(workspace=ws, name="AzureML-Minimal").name == "AzureML-Minimal"
    with pytest.warns(RunWidgetsWarning, match="azureml-sklearn-1.5"):
        Environment.get(ws, "azureml-sklearn-1.5")


def test_unknown_environment_is_named(ws: Workspace) -> None:
    with pytest.raises(UserErrorException, match="No environment named 'nope' is registered"):
        Environment.get(ws, "nope")
